/**
 * Builds the runtime's dependencies: the DynamoDB-backed stores, the delivery port over
 * `@connections`, the broker configuration, logs and metrics. Lambda builds them once per
 * container from the environment (`runtimeFromEnv`); local mode and tests build them explicitly.
 */
import { parseBrokerConfig, type BrokerConfig, type BrokerConfigInput } from '../broker';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiGatewayDelivery, type Delivery, type ManagementClient } from '../gateway/delivery';
import { managementClient, type ManagementClientConfig } from '../gateway/management-client';
import { sqsQueueClose } from '../gateway/ingress-sender';
import { capacityReportingFor, sharedDynamoDbClient, LOCAL_CREDENTIALS, LOCAL_REGION } from '../store/dynamodb/client';
import { dynamoStores } from '../store/dynamodb';
import { messageTtlSeconds } from '../store/message-port';
import { closeFound } from './disconnect-path';
import type { QueuedCloseCause } from '../ingress-wire';
import { publishWill } from './effects/will';
import type { Meter } from '../store/meter';
import type { TableId } from '../store/schema';
import type { Stores } from '../store/ports'; // issue 14: runtimeOverStores
import type { Authenticator } from './auth';
import { createAuthenticator } from '../auth/authenticator';
import { createJwtVerifier, jwtOptionsFromEnv } from '../auth/jwt';
import type { TokenVerifier } from '../auth/types';
import { ConfigurationError, loadConfig } from './config';
import type { RuntimeDeps } from './types';
import { createLogger, type Logger } from '../log';
import { createMetrics, type Metrics } from './metrics';
import { DEFAULT_PUBLISH_RATE, PublishRateLimiter, type PublishRate } from './publish-rate';

export interface RuntimeSetup {
  readonly tables: Record<TableId, string>;
  /** DynamoDB Local or another compatible endpoint; absent on AWS. */
  readonly dynamodbEndpoint?: string;
  /**
   * The `@connections` endpoint (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`, a
   * custom domain, or the local gateway's): every post, close and GET goes there.
   */
  readonly managementEndpoint: string;
  /** The management endpoint is local: use dummy credentials, as for DynamoDB Local. */
  readonly localManagement?: boolean;
  /**
   * A `@connections` client to use instead of the SDK's for `managementEndpoint`: local mode's
   * in-process one (lib/local/in-process-management.ts). Never set in Lambda.
   */
  readonly managementClient?: ManagementClient;
  readonly broker: BrokerConfig;
  readonly allowBinary?: boolean;
  /** Default: users, groups and rules from the auth table (lib/auth/authenticator.ts). */
  readonly authenticate?: Authenticator;
  /** Verifies a JWT sent as the CONNECT password; absent: no token authentication. */
  readonly verifyToken?: TokenVerifier;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly meter?: Meter;
  readonly now?: () => number;
  /** Most messages queued per offline session. @default 1000 */
  readonly maxQueued?: number;
  /**
   * The per-client publish rate limit (./publish-rate.ts); `perSecond` 0 turns it off.
   * @default DEFAULT_PUBLISH_RATE: 100 a second, bursts of 200
   */
  readonly publishRate?: PublishRate;
  /** The ingress queue's maxReceiveCount. @default DEFAULT_MAX_RECEIVES */
  readonly maxReceives?: number;
  /** Wraps each delivery adapter (benchmarks count posts with it). */
  readonly wrapDelivery?: (delivery: Delivery) => Delivery;
  /**
   * Wraps the DynamoDB client under every store (tests inject faults with it:
   * test/helpers/faulty-dynamodb.ts). Never set in Lambda.
   */
  readonly wrapDynamoDb?: (client: DynamoDBClient) => DynamoDBClient;
  /**
   * Wraps the `@connections` client under the delivery adapter, so that injected SDK errors
   * (410, 429, timeouts) meet the adapter's own retries, `onGone` and fragment posting
   * (test/helpers/faulty-delivery.ts). Never set in Lambda.
   */
  readonly wrapManagementClient?: (client: ManagementClient) => ManagementClient;
  /**
   * Ordered ingress: sends a close to the connection's group of the ingress queue (RuntimeDeps
   * `queueClose`). Absent: direct ingress, closes found by the broker run at once.
   */
  readonly queueClose?: (connectionId: string, cause: QueuedCloseCause, epochMs: number, clientId?: string) => Promise<void>;
}

/** Attempts of an ingress frame before the dead-letter queue: the queue's maxReceiveCount. */
export const DEFAULT_MAX_RECEIVES = 5;

export function createRuntime(setup: RuntimeSetup): RuntimeDeps {
  const dynamodb = sharedDynamoDbClient({ endpoint: setup.dynamodbEndpoint });
  const stores = dynamoStores({
    client: setup.wrapDynamoDb ? setup.wrapDynamoDb(dynamodb) : dynamodb,
    tables: setup.tables,
    meter: setup.meter,
    capacityReporting: capacityReportingFor(setup.dynamodbEndpoint),
    messageTtlSeconds: messageTtlSeconds(setup.broker.maximumSessionExpiryInterval),
  });
  // ---- issue 14 (`stratus dev --store memory`): the runtime over any Stores -------------------
  return runtimeOverStores(stores, setup);
}

/**
 * The runtime over the given stores: createRuntime's DynamoDB adapters, or the in-memory adapters
 * of local mode's `--store memory` (lib/local/memory-store.ts), which ignore `tables` and
 * `dynamodbEndpoint`.
 */
export function runtimeOverStores(stores: Stores, setup: RuntimeSetup): RuntimeDeps {
  // ---- end of issue 14 -------------------------------------------------------------------------
  const { connections } = stores;
  const log = setup.log;
  // Set once the deps exist: a 410 found while delivering runs the full disconnect path.
  let self: RuntimeDeps | undefined;
  const clientConfig: ManagementClientConfig = setup.localManagement
    ? { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }
    : {};
  const management = setup.managementClient ?? managementClient(setup.managementEndpoint, clientConfig);
  const metrics = setup.metrics ?? createMetrics();
  const api = new ApiGatewayDelivery({
    client: setup.wrapManagementClient ? setup.wrapManagementClient(management) : management,
    // The records of the connection that is gone, never the sender's: its close is queued behind
    // its frames (ordered ingress), or handled now (direct).
    onGone: async (goneConnectionId) => {
      if (self) await closeFound(self, goneConnectionId, 'gone');
    },
    // Every 429 of `@connections`, each paced retry included (lib/gateway/pacing.ts).
    onThrottled: () => metrics.add('DeliveryThrottled'),
  });
  self = {
    ...stores,
    scan: connections,
    maxQueued: setup.maxQueued ?? 1000,
    maxReceives: setup.maxReceives ?? DEFAULT_MAX_RECEIVES,
    publishWill: (will, clientId) => publishWill(self as RuntimeDeps, will, clientId),
    delivery: setup.wrapDelivery ? setup.wrapDelivery(api) : api,
    ...(setup.queueClose === undefined ? {} : { queueClose: setup.queueClose }),
    broker: setup.broker,
    // One per container (Lambda builds the deps once per container): ./publish-rate.ts.
    publishLimiter: new PublishRateLimiter(setup.publishRate ?? DEFAULT_PUBLISH_RATE),
    authenticate:
      setup.authenticate ??
      createAuthenticator({ store: stores.auth, allowAnonymous: setup.broker.allowAnonymous, verifyToken: setup.verifyToken, log }),
    allowBinary: setup.allowBinary ?? false,
    log,
    metrics,
    now: setup.now ?? Date.now,
  };
  return self;
}

/** The Lambda runtime, configured from the environment (validated once, at init). */
export function runtimeFromEnv(env: Record<string, string | undefined> = process.env): RuntimeDeps {
  const config = loadConfig(env);
  const broker = parseBrokerConfig({
    ...(config.capabilities as BrokerConfigInput),
    allowAnonymous: config.allowAnonymous,
    ...(config.maxPacketSize !== undefined ? { maximumPacketSize: config.maxPacketSize } : {}),
    ...(config.maxSessionExpiry !== undefined ? { maximumSessionExpiryInterval: config.maxSessionExpiry } : {}),
  });
  if (broker.topicAliasMaximum > 0) {
    // An alias defined in one WebSocket message may be used before that message is processed:
    // API Gateway does not order a connection's messages.
    throw new ConfigurationError('invalid environment: STRATUS_CAPABILITIES: topicAliasMaximum must be 0 on API Gateway');
  }
  const jwt = jwtOptionsFromEnv(env);
  return createRuntime({
    verifyToken: jwt === undefined ? undefined : createJwtVerifier(jwt),
    tables: config.tables,
    dynamodbEndpoint: config.dynamodbEndpoint,
    managementEndpoint: config.managementEndpoint,
    broker,
    maxQueued: config.maxQueue,
    maxReceives: config.maxReceives,
    publishRate: config.publishRate,
    ...(config.ingressQueueUrl === undefined ? {} : { queueClose: sqsQueueClose(config.ingressQueueUrl) }),
    log: createLogger({ level: config.logLevel }),
    // One EMF line a minute per busy container instead of one per invocation (docs/COST.md).
    metrics: createMetrics(undefined, undefined, { batchMs: LAMBDA_METRICS_BATCH_MS }),
  });
}

/** How long a Lambda container holds its traffic counters back (lib/runtime/metrics.ts). */
export const LAMBDA_METRICS_BATCH_MS = 60_000;
