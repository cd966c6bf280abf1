/**
 * The API Gateway WebSocket API: the three routes (`$disconnect` and `$default` go to Lambda with
 * direct ingress, to the ingress queue with ordered ingress: ./ingress), a throttled stage with a
 * JSON access log and the API Gateway account's logging role. The custom domain is in ./domain.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnAuthorizer,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
  type WebSocketRoute,
  type WebSocketRouteIntegration,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ResolvedBrokerProps } from './props';

/** One JSON object per access log line (only variables documented for WebSocket APIs). */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTimeEpoch',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    connectionId: '$context.connectionId',
    status: '$context.status',
    sourceIp: '$context.identity.sourceIp',
    integrationLatency: '$context.integrationLatency',
    error: '$context.error.message',
  }),
);

interface BrokerApi {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly cloudWatchRole?: Role;
}

/**
 * API Gateway writes REST and WebSocket logs through one role per account and Region, set in its
 * account settings. Kept on stack deletion: other APIs in the account may rely on it.
 */
function createAccountLoggingRole(scope: Construct): { role: Role; account: CfnAccount } {
  const role = new Role(scope, 'ApiGatewayCloudWatchRole', {
    assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
    managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    description: 'API Gateway account-wide role for writing CloudWatch Logs (set by Stratus)',
  });
  role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  const account = new CfnAccount(scope, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
  account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  return { role, account };
}

/** The API and its stage, without routes: functions need the API id before routes need them. */
export function createWebSocketApi(scope: Construct, config: ResolvedBrokerProps): BrokerApi {
  const api = new WebSocketApi(scope, 'WebSocketApi', {
    description: 'Stratus MQTT broker: MQTT packets as base64 in WebSocket text frames',
  });
  const accessLogs = new LogGroup(scope, 'AccessLogs', {
    retention: config.logRetention,
    removalPolicy: config.removalPolicy,
  });
  const stage = new WebSocketStage(scope, 'Stage', {
    webSocketApi: api,
    stageName: config.stageName,
    autoDeploy: true,
    throttle: { rateLimit: config.throttle.rateLimit, burstLimit: config.throttle.burstLimit },
    accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    description: 'MQTT over WebSocket',
  });
  let cloudWatchRole: Role | undefined;
  if (config.apiGatewayCloudWatchRole) {
    const logging = createAccountLoggingRole(scope);
    stage.node.addDependency(logging.account);
    cloudWatchRole = logging.role;
  }
  return { api, stage, cloudWatchRole };
}

interface RouteTargets {
  readonly connect: IFunction;
  /** The `$connect` REQUEST authorizer (token authentication only) */
  readonly authorizer?: IFunction;
  /** Where `$disconnect` and `$default` go: ./ingress (ordered) or lambdaIngress (direct) */
  readonly ingress: IngressIntegrations;
}

/** The integrations of the two routes that carry a connection's traffic after `$connect`. */
export interface IngressIntegrations {
  readonly disconnect: WebSocketRouteIntegration;
  readonly default: WebSocketRouteIntegration;
}

/** Direct ingress: Lambda proxy integrations, one invocation per frame or close (unordered). */
export function lambdaIngress(fns: { readonly disconnect: IFunction; readonly message: IFunction }): IngressIntegrations {
  return {
    disconnect: new WebSocketLambdaIntegration('DisconnectIntegration', fns.disconnect),
    default: new WebSocketLambdaIntegration('DefaultIntegration', fns.message),
  };
}

const CONNECT_AUTHORIZER_ID = 'ConnectAuthorizer';

/**
 * A Lambda REQUEST authorizer with no identity source. API Gateway invokes an authorizer only when
 * every configured identity source is present and non-empty (401 otherwise), but a token may come
 * in a header or in the query string, and a client without one must still reach its CONNECT
 * packet. Identity sources are optional for WebSocket REQUEST authorizers, so none is set: the
 * authorizer runs on every `$connect` (see lib/auth/authorizer.ts). CDK's WebSocketLambdaAuthorizer
 * wires the invoke permission but defaults to the Authorization header, so the property is cleared
 * once the route has created the authorizer.
 */
function clearIdentitySource(api: WebSocketApi): void {
  const authorizer = api.node.findChild(CONNECT_AUTHORIZER_ID);
  (authorizer.node.defaultChild as CfnAuthorizer).identitySource = undefined;
}

/**
 * `$connect` returns its integration's response to the client (a route response), so the
 * `Sec-WebSocket-Protocol: mqtt` header set by the function completes the upgrade.
 */
export function addRoutes(api: WebSocketApi, targets: RouteTargets): Record<'connect' | 'disconnect' | 'default', WebSocketRoute> {
  const connect = api.addRoute('$connect', {
    integration: new WebSocketLambdaIntegration('ConnectIntegration', targets.connect),
    returnResponse: true,
    authorizer: targets.authorizer ? new WebSocketLambdaAuthorizer(CONNECT_AUTHORIZER_ID, targets.authorizer) : undefined,
  });
  if (targets.authorizer) clearIdentitySource(api);
  return {
    connect,
    disconnect: api.addRoute('$disconnect', { integration: targets.ingress.disconnect }),
    default: api.addRoute('$default', { integration: targets.ingress.default }),
  };
}
