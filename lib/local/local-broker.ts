/**
 * Local mode: the same route handlers as Lambda, behind the local gateway, on DynamoDB Local (or
 * an existing DynamoDB-compatible endpoint). `stratus dev` and the integration tests use this.
 */
import { parseBrokerConfig, type BrokerConfigInput } from '../broker';
import type { GatewayResult } from '../gateway/events';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Delivery, ManagementClient } from '../gateway/delivery';
import { resetManagementClients } from '../gateway/management-client';
import { LocalGateway, type DroppedFrame, type GatewayHandlers, type LocalGatewayOptions } from './gateway';
import type { ErrorFrameRule } from './error-frames';
import { provideDynamoDb, type DynamoDbLocalOptions } from './dynamodb-local';
import { ensureTables } from '../store/dynamodb/tables';
import { sharedDynamoDbClient } from '../store/dynamodb/client';
import type { Meter } from '../store/meter';
import type { LocalStorage } from './storage'; // issue 14: --store memory
import { tableNamesForPrefix } from '../store/schema';
import { createRuntime, DEFAULT_MAX_RECEIVES } from '../runtime/deps';
import type { PublishRate } from '../runtime/publish-rate';
import { createHandlers } from '../runtime/handlers';
import type { RouteHandlers, RuntimeDeps } from '../runtime/types';
import type { DeadLetter } from './ingress-queue';
import { sweep, type SweepReport } from '../runtime/sweeper';
import { createLogger, type Logger } from '../log';
import { createAuthorizer } from '../auth/authorizer';
import { createJwtVerifier, type JwtOptions } from '../auth/jwt';
import { noMetrics, type Metrics } from '../runtime/metrics';

export interface LocalBrokerOptions {
  /**
   * Gateway options: host, port (0 = any free port), strict mode, ordered or direct ingress and its
   * queue (consumers, visibility timeout, maxReceiveCount: the runtime uses the same), limits,
   * jitter, drop rate.
   */
  readonly gateway?: Omit<LocalGatewayOptions, 'log'>;
  /** Use this DynamoDB endpoint instead of starting DynamoDB Local. */
  readonly dynamodbEndpoint?: string;
  /** Options of DynamoDB Local when it is started (e.g. `dataDir` to keep data). */
  readonly dynamodb?: DynamoDbLocalOptions;
  // ---- issue 14: `stratus dev --store memory` ----
  /**
   * Keep the state here instead of DynamoDB: no DynamoDB Local, no tables (lib/local/memory-store.ts).
   * `dynamodbEndpoint` and `dynamodb` are then ignored. @default DynamoDB Local, or `dynamodbEndpoint`
   */
  readonly storage?: LocalStorage;
  /**
   * How the handlers reach the gateway's `@connections` API: over HTTP with the AWS SDK client,
   * as Lambda does, or by a call in this process (lib/local/in-process-management.ts), which
   * skips the request, its signature and the SDK's parsing. The HTTP API stays served either way.
   * @default 'in-process' with `storage` (the memory store is for speed), else 'http'
   */
  readonly management?: 'http' | 'in-process';
  // ---- end of issue 14 ----
  /** Prefix of the table names. @default 'stratus-local-' */
  readonly tablePrefix?: string;
  /** Broker configuration overrides. Local mode allows anonymous clients unless told otherwise. */
  readonly broker?: BrokerConfigInput;
  readonly log?: Logger;
  /** Metrics sink. @default discards them: EMF lines mean something only to CloudWatch. */
  readonly metrics?: Metrics;
  readonly meter?: Meter;
  /** Most messages queued per offline session. @default 1000 */
  readonly maxQueued?: number;
  /**
   * The per-client publish rate limit, as deployed (lib/runtime/publish-rate.ts); `perSecond` 0
   * turns it off. Local mode is one container: a connection's packets all meet its one bucket (on
   * AWS, several containers may each hold one: docs/ARCHITECTURE.md "Per-client limits").
   * @default DEFAULT_PUBLISH_RATE: 100 a second, bursts of 200
   */
  readonly publishRate?: PublishRate;
  /** Wraps the delivery adapter (benchmarks count posts with it). */
  readonly wrapDelivery?: (delivery: Delivery) => Delivery;
  /**
   * Wraps the DynamoDB client under the runtime's stores (tests put FaultyDynamoDb there). Table
   * creation at start-up does not go through it.
   */
  readonly wrapDynamoDb?: (client: DynamoDBClient) => DynamoDBClient;
  /**
   * Wraps the `@connections` client under the delivery adapter (tests inject 410, 429, timeouts
   * and partial posts there, test/helpers/faulty-delivery.ts, so the adapter reacts as on AWS).
   */
  readonly wrapManagementClient?: (client: ManagementClient) => ManagementClient;
  /** Wraps the runtime's dependencies before the handlers are built (tests inject store failures). */
  readonly wrapRuntime?: (deps: RuntimeDeps) => RuntimeDeps;
  /** Run the sweeper this often, as the deployed schedule does; 0 turns it off. @default 60000 */
  readonly sweepIntervalMs?: number;
  /**
   * Token authentication, as a deployed stack with the `jwt` prop: the REQUEST authorizer runs
   * before `$connect` (a token in the `token` query parameter or an `Authorization: Bearer`
   * header), and a JWT sent as the CONNECT password is verified too.
   */
  readonly jwt?: JwtOptions;
}

export interface LocalBroker {
  /** e.g. ws://127.0.0.1:8083/mqtt */
  readonly url: string;
  readonly managementEndpoint: string;
  readonly port: number;
  readonly dynamodbEndpoint: string;
  readonly tables: ReturnType<typeof tableNamesForPrefix>;
  /** Ordered ingress: the messages moved to the queue's dead-letter list, oldest first. */
  deadLetters(): readonly DeadLetter[];
  /** Ordered ingress: swaps the gateway performed before the queue (the `swapFraction` option). */
  ingressSwaps(): number;
  /** `$disconnect` events the gateway dropped (its `dropDisconnectRate`). */
  droppedDisconnects(): number;
  /** Data frames that came after the gateway had closed their connection (the latest 10,000). */
  framesDroppedAfterClose(): readonly DroppedFrame[];
  /** Ordered ingress: resolves once the queue has no message waiting or in flight. */
  ingressDrained(): Promise<void>;
  /** Ids of the gateway's open connections. */
  connectionIds(): string[];
  /**
   * The gateway answers the next client frames matching `rule` (default: the next frame of any
   * connection) with API Gateway's JSON error frame instead of handing them to `$default`, as
   * when the integration fails (lib/local/error-frames.ts).
   */
  injectErrorFrames(rule?: ErrorFrameRule): void;
  /** Error frames sent by `injectErrorFrames` so far. */
  errorFramesSent(): number;
  /** Runs the sweeper once now (it also runs every `sweepIntervalMs`). */
  sweep(): Promise<SweepReport>;
  /** Stops the gateway, then DynamoDB Local if this broker started it. Idempotent. */
  stop(): Promise<void>;
}

export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const log = options.log ?? createLogger();
  const explicit = options.dynamodbEndpoint;
  const dynamo = options.storage /* issue 14 */ ?? (explicit
    ? { endpoint: explicit, stop: async () => undefined }
    : await provideDynamoDb(options.dynamodb ?? {}));
  try {
    const tables = tableNamesForPrefix(options.tablePrefix ?? 'stratus-local-');
    if (options.storage === undefined /* issue 14 */) await ensureTables(sharedDynamoDbClient({ endpoint: dynamo.endpoint }), tables);
    const broker = parseBrokerConfig({ allowAnonymous: true, ...options.broker });
    let handlers: RouteHandlers | undefined;
    const verifyToken = options.jwt === undefined ? undefined : createJwtVerifier(options.jwt);
    const authorizer = verifyToken === undefined ? undefined : createAuthorizer({ verify: verifyToken, log: log.child({ component: 'authorizer' }) });
    const maxReceives = options.gateway?.maxReceiveCount ?? DEFAULT_MAX_RECEIVES;
    const gateway = new LocalGateway(lateBound(() => handlers), {
      ...options.gateway,
      maxReceiveCount: maxReceives,
      ...(authorizer === undefined ? {} : { authorizer }),
      log: log.child({ component: 'local-gateway' }),
    });
    const address = await gateway.start();
    const runtime = (options.storage?.createRuntime /* issue 14 */ ?? createRuntime)({
      tables,
      dynamodbEndpoint: dynamo.endpoint,
      managementEndpoint: address.managementEndpoint,
      localManagement: true,
      ...((options.management ?? (options.storage === undefined ? 'http' : 'in-process')) === 'in-process'
        ? { managementClient: gateway.managementClient() }
        : {}),
      broker,
      verifyToken,
      allowBinary: !(options.gateway?.strict ?? false),
      log,
      metrics: options.metrics ?? noMetrics,
      meter: options.meter,
      wrapDelivery: options.wrapDelivery,
      wrapDynamoDb: options.wrapDynamoDb,
      wrapManagementClient: options.wrapManagementClient,
      maxQueued: options.maxQueued,
      ...(options.publishRate === undefined ? {} : { publishRate: options.publishRate }),
      maxReceives,
      // Ordered ingress: a close the runtime finds goes to the connection's group, as on AWS.
      ...(gateway.ingress === 'ordered' ? { queueClose: async (connectionId, cause, epochMs, clientId) => gateway.queueClose(connectionId, cause, epochMs, clientId) } : {}),
    });
    handlers = createHandlers(options.wrapRuntime ? options.wrapRuntime(runtime) : runtime);
    const sweepNow = () => sweep(runtime);
    const interval = options.sweepIntervalMs ?? 60_000;
    const timer =
      interval > 0
        ? setInterval(() => sweepNow().catch((error: unknown) => log.error('sweep failed', { error })), interval)
        : undefined;
    timer?.unref();
    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        if (timer) clearInterval(timer);
        await gateway.stop();
        resetManagementClients();
        await dynamo.stop();
      })());
    return { ...address, dynamodbEndpoint: dynamo.endpoint, tables, deadLetters: () => gateway.deadLetters(), ingressSwaps: () => gateway.ingressSwaps(), droppedDisconnects: () => gateway.droppedDisconnects(), framesDroppedAfterClose: () => gateway.framesDroppedAfterClose(), ingressDrained: () => gateway.ingressDrained(), connectionIds: () => gateway.connectionIds(), injectErrorFrames: (rule) => gateway.errorFrames.add(rule ?? {}), errorFramesSent: () => gateway.errorFrames.injected, sweep: sweepNow, stop };
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
}

/** Gateway handlers that call the route handlers once they exist (they need the gateway's address). */
function lateBound(get: () => RouteHandlers | undefined): GatewayHandlers {
  const unavailable: GatewayResult = { statusCode: 503 };
  return {
    connect: async (event) => get()?.connect(event) ?? unavailable,
    message: async (event) => get()?.message(event) ?? unavailable,
    disconnect: async (event) => get()?.disconnect(event) ?? unavailable,
    ingress: async (event) => {
      const handlers = get();
      // Not up yet: the batch fails, and the queue hands it out again.
      if (handlers === undefined) throw new Error('the handlers are not ready');
      return handlers.ingress(event);
    },
  };
}
