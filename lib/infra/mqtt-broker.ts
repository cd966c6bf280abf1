/**
 * MqttBroker: the whole serverless broker as one construct, usable from any CDK app.
 *
 * API Gateway WebSocket API: $connect -> Lambda (connect); $default and $disconnect -> an SQS FIFO
 * queue -> Lambda (message) with ordered ingress (the default), or -> Lambda (message, disconnect)
 * with direct ingress; DynamoDB tables from lib/store/schema.ts; a scheduled sweeper;
 * least-privilege roles; alarms and a dashboard; with `jwt`, a Lambda REQUEST authorizer on $connect.
 * Optional: a custom domain (./domain), an AWS Backup plan (./backup), a cost budget (./budget).
 */
import { Duration } from 'aws-cdk-lib';
import type { DomainName, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { CfnBudget } from 'aws-cdk-lib/aws-budgets';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { Function as LambdaFn } from 'aws-cdk-lib/aws-lambda';
import type { ARecord } from 'aws-cdk-lib/aws-route53';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { TABLE_IDS, tableEnvVar, type TableId } from '../store/schema';
import { deployedFunctionIds, type CoreFunctionId, type FunctionId } from './access';
import { addRoutes, createWebSocketApi, lambdaIngress, type IngressIntegrations } from './api';
import { createBackupPlan, type BrokerBackup } from './backup';
import { createBudget } from './budget';
import { createCustomDomain } from './domain';
import { FUNCTION_TIMEOUTS, createBrokerFunction, type BrokerFunction } from './functions';
import { grantFunctionAccess } from './grants';
import { INGRESS_MAX_RECEIVES, consumeIngress, createIngressQueue, type IngressQueue } from './ingress';
import { suppressBrokerFindings } from './nag';
import { createObservability } from './observability';
import type { MqttBrokerProps, ResolvedBrokerProps } from './props';
import { resolveBrokerProps } from './props-validation';
import { createTables } from './tables';

/** The runtime environment contract (lib/runtime/config.ts reads it). */
export function runtimeEnvironment(
  config: ResolvedBrokerProps,
  tableNames: Readonly<Record<TableId, string>>,
  managementEndpoint: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const id of TABLE_IDS) env[tableEnvVar(id)] = tableNames[id];
  return {
    ...env,
    STRATUS_MANAGEMENT_ENDPOINT: managementEndpoint,
    STRATUS_ALLOW_ANONYMOUS: String(config.allowAnonymous),
    STRATUS_MAX_PACKET_SIZE: String(config.maxPacketSize),
    STRATUS_MAX_SESSION_EXPIRY: String(config.maxSessionExpirySeconds),
    STRATUS_MAX_QUEUE: String(config.maxQueuedMessages),
    STRATUS_CAPABILITIES: JSON.stringify(config.capabilities),
    STRATUS_LOG_LEVEL: config.logLevel,
    // The consumer closes a connection on its frame's last attempt, before SQS dead-letters it.
    ...(config.ingress === 'ordered' ? { STRATUS_INGRESS_MAX_RECEIVES: String(INGRESS_MAX_RECEIVES) } : {}),
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/** The JWT settings (lib/auth/jwt.ts jwtOptionsFromEnv reads them); empty without token authentication. */
export function jwtEnvironment(config: ResolvedBrokerProps): Record<string, string> {
  if (!config.jwt) return {};
  return {
    STRATUS_JWT_ISSUER: config.jwt.issuer,
    STRATUS_JWT_AUDIENCE: config.jwt.audience,
    STRATUS_JWT_JWKS_URL: config.jwt.jwksUrl,
    STRATUS_JWT_USERNAME_CLAIM: config.jwt.usernameClaim,
  };
}

/** The per-client publish rate limit (the message function enforces it); `0` per second: off. */
export function publishRateEnvironment(config: ResolvedBrokerProps): Record<string, string> {
  const rate = config.clientPublishRate;
  return {
    STRATUS_PUBLISH_RATE_PER_SECOND: rate === false ? '0' : String(rate.perSecond),
    STRATUS_PUBLISH_RATE_BURST: rate === false ? '0' : String(rate.burst),
  };
}

/**
 * Each function's environment: the runtime contract for the core functions, plus the JWT settings
 * for the two that verify tokens (`$connect` reads the authorizer's principal, `$default` verifies
 * a JWT sent as the CONNECT password), plus the publish rate limit for the one that handles MQTT
 * packets (`message`); the authorizer gets the JWT settings and its log level only.
 */
export function functionEnvironment(fn: FunctionId, config: ResolvedBrokerProps, runtime: Record<string, string>): Record<string, string> {
  if (fn === 'authorizer') {
    return { ...jwtEnvironment(config), STRATUS_LOG_LEVEL: config.logLevel, NODE_OPTIONS: '--enable-source-maps' };
  }
  if (fn === 'message') return { ...runtime, ...jwtEnvironment(config), ...publishRateEnvironment(config) };
  return fn === 'connect' ? { ...runtime, ...jwtEnvironment(config) } : runtime;
}

/**
 * The broker's functions: connect, message and sweeper always, disconnect with direct ingress (with
 * ordered ingress the message function handles closes), the authorizer with token authentication.
 */
export type BrokerFunctions = Readonly<Record<Exclude<CoreFunctionId, 'disconnect'>, LambdaFn>> & {
  readonly disconnect?: LambdaFn;
  readonly authorizer?: LambdaFn;
};

/**
 * Ordered ingress: the queue, consumed by the message function, behind `$default` and
 * `$disconnect`. Direct ingress: Lambda integrations to the message and disconnect functions.
 */
function createIngress(
  scope: Construct,
  config: ResolvedBrokerProps,
  fns: { readonly message: LambdaFn; readonly disconnect?: LambdaFn },
): { readonly integrations: IngressIntegrations; readonly queue?: IngressQueue } {
  if (config.ingress === 'direct') {
    if (!fns.disconnect) throw new Error('MqttBroker: direct ingress needs the disconnect function');
    return { integrations: lambdaIngress({ message: fns.message, disconnect: fns.disconnect }) };
  }
  const queue = createIngressQueue(scope, { consumerTimeout: FUNCTION_TIMEOUTS.message });
  consumeIngress(fns.message, queue.queue);
  return { integrations: { default: queue.defaultIntegration, disconnect: queue.disconnectIntegration }, queue };
}

/**
 * The sweeper's schedule delivers each run once, within this age, or drops it: a run is never
 * retried or delivered late, so two sweeps do not overlap (the next run comes a minute later).
 */
export const SWEEPER_MAX_EVENT_AGE = Duration.seconds(60);

export class MqttBroker extends Construct {
  /** The props with their defaults applied */
  readonly config: ResolvedBrokerProps;
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly tables: Readonly<Record<TableId, Table>>;
  readonly functions: BrokerFunctions;
  readonly sweeperSchedule: Rule;
  readonly alarms: readonly Alarm[];
  readonly dashboard: Dashboard;
  /** Present when `alarmEmail` was given */
  readonly alarmTopic?: Topic;
  /** Present when `customDomain` was given */
  readonly domainName?: DomainName;
  /** Present when `customDomain` has a hosted zone (and `aliasRecord` is not false) */
  readonly aliasRecord?: ARecord;
  /** Present when `backup` was given */
  readonly backup?: BrokerBackup;
  /** Present when `budget` was given */
  readonly budget?: CfnBudget;
  /** The ingress queue, its dead-letter queue and API Gateway's send role: present with `ingress: 'ordered'` */
  readonly ingressQueue?: IngressQueue;
  /** `wss://…/{stage}`: on the custom domain if there is one */
  readonly url: string;
  /** `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`: the `@connections` callback URL */
  readonly managementEndpoint: string;

  constructor(scope: Construct, id: string, props: MqttBrokerProps = {}) {
    super(scope, id);
    this.config = resolveBrokerProps(props);
    const config = this.config;

    const tables = createTables(this, config);
    const web = createWebSocketApi(this, config);
    this.api = web.api;
    this.stage = web.stage;
    this.tables = tables;
    const domain = config.customDomain
      ? createCustomDomain(this, config.customDomain, { api: web.api, stage: web.stage, stageName: config.stageName })
      : undefined;
    this.domainName = domain?.domainName;
    this.aliasRecord = domain?.aliasRecord;
    // Always the execute-api endpoint, custom domain or not (./domain).
    this.managementEndpoint = web.stage.callbackUrl;
    this.url = domain ? domain.url : web.stage.url;

    const tableNames = Object.fromEntries(TABLE_IDS.map((t) => [t, tables[t].tableName])) as Record<TableId, string>;
    const environment = runtimeEnvironment(config, tableNames, this.managementEndpoint);
    const deployed = deployedFunctionIds({ tokenAuthentication: config.jwt !== undefined, ingress: config.ingress });
    const built: Partial<Record<FunctionId, BrokerFunction>> = {};
    for (const fnId of deployed) {
      const fn = createBrokerFunction(this, fnId, { config, environment: functionEnvironment(fnId, config, environment) });
      grantFunctionAccess(fnId, { role: fn.role, tables, apiId: this.api.apiId, stageName: config.stageName });
      built[fnId] = fn;
    }
    const core = (id: CoreFunctionId): BrokerFunction => built[id] as BrokerFunction;
    this.functions = Object.fromEntries(deployed.map((f) => [f, (built[f] as BrokerFunction).fn])) as Record<string, LambdaFn> as BrokerFunctions;

    const ingress = createIngress(this, config, { message: core('message').fn, disconnect: built.disconnect?.fn });
    this.ingressQueue = ingress.queue;
    if (ingress.queue !== undefined) {
      // A close the sweeper or a 410 finds goes into the connection's group, behind its frames
      // (lib/runtime/disconnect-path.ts `closeFound`): the two functions that find them send it.
      for (const id of ['message', 'sweeper'] as const) {
        core(id).fn.addEnvironment('STRATUS_INGRESS_QUEUE_URL', ingress.queue.queue.queueUrl);
        ingress.queue.queue.grantSendMessages(core(id).fn);
      }
    }
    const routes = addRoutes(this.api, { connect: core('connect').fn, authorizer: built.authorizer?.fn, ingress: ingress.integrations });
    this.sweeperSchedule = new Rule(this, 'SweeperSchedule', {
      schedule: Schedule.rate(config.sweeperInterval),
      description: 'Runs the Stratus sweeper: dead connections, wills, expired sessions',
      // One attempt, never delivered late: a retried or delayed run would overlap the next one.
      targets: [new LambdaFunction(core('sweeper').fn, { retryAttempts: 0, maxEventAge: SWEEPER_MAX_EVENT_AGE })],
    });
    // EventBridge invokes asynchronously: Lambda's own async retries (2 by default) must be off too.
    core('sweeper').fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: SWEEPER_MAX_EVENT_AGE });

    const observed = createObservability(this, {
      functions: this.functions,
      tables,
      apiId: this.api.apiId,
      stageName: config.stageName,
      alarmEmail: config.alarmEmail,
      accountConcurrencyLimit: config.accountConcurrencyLimit,
      ingressQueue: this.ingressQueue,
    });
    this.alarms = observed.alarms;
    this.dashboard = observed.dashboard;
    this.alarmTopic = observed.alarmTopic;

    this.backup = config.backup ? createBackupPlan(this, config.backup, tables) : undefined;
    this.budget = config.budget ? createBudget(this, config.budget) : undefined;

    suppressBrokerFindings({
      api: this.api,
      stageName: config.stageName,
      routes: Object.values(routes),
      roles: Object.fromEntries(deployed.map((f) => [f, (built[f] as BrokerFunction).role])) as Partial<Record<FunctionId, Role>>,
      functions: Object.values(this.functions),
      cloudWatchRole: web.cloudWatchRole,
      alarmTopic: this.alarmTopic,
      backupSelection: this.backup?.selection,
    });
  }
}
