/**
 * What the runtime is built from, and what it offers: the dependencies every route handler and
 * effect receives, and the three route handlers. A leaf of lib/runtime: it imports types only,
 * and no runtime module, so every module of the pipeline can import it.
 */
import type { BrokerConfig } from '../broker';
import type { Delivery } from '../gateway/delivery';
import type { GatewayResult } from '../gateway/events';
import type { QueuedCloseCause } from '../ingress-wire';
import type { Logger } from '../log';
import type { Will } from '../mqtt/types';
import type { MessageStore } from '../store/message-port';
import type { ConnectionStore } from '../store/ports';
import type { RetainedStore } from '../store/retained-port';
import type { ConnectionScan } from '../store/scan';
import type { SessionStore } from '../store/session-port';
import type { SubscriptionStore } from '../store/subscription-port';
import type { Authenticator } from './auth';
import type { Metrics } from './metrics';
import type { PublishRateLimiter } from './publish-rate';

export interface RuntimeDeps {
  readonly connections: ConnectionStore;
  /** Paged reading of every connection: the sweeper's only. */
  readonly scan: ConnectionScan;
  readonly sessions: SessionStore;
  readonly subscriptions: SubscriptionStore;
  readonly retained: RetainedStore;
  readonly messages: MessageStore;
  /** Most messages queued per offline session; beyond it new ones are dropped and counted. */
  readonly maxQueued: number;
  /**
   * The ingress queue's maxReceiveCount: on a frame's last attempt a failure closes its
   * connection and dead-letters the frame (./ingress.ts).
   */
  readonly maxReceives: number;
  /** Publishes a Will Message on behalf of `clientId` (lib/runtime/effects/will.ts). */
  readonly publishWill: (will: Will, clientId: string) => Promise<void>;
  /** The delivery port over the configured `@connections` endpoint. */
  readonly delivery: Delivery;
  /**
   * Ordered ingress: sends a close of the connection to the ingress queue, in the connection's
   * own message group, so that its disconnect path runs after every frame the connection sent
   * (its DISCONNECT included). What the sweeper and a post answered 410 use; absent with direct
   * ingress, where they run the disconnect path at once (./disconnect-path.ts `closeFound`).
   */
  readonly queueClose?: (connectionId: string, cause: QueuedCloseCause, epochMs: number, clientId?: string) => Promise<void>;
  readonly broker: BrokerConfig;
  /**
   * The per-client publish rate limit: one token bucket per connection, in this container's
   * memory (./publish-rate.ts). Absent: no limit (deps built by hand in tests).
   */
  readonly publishLimiter?: PublishRateLimiter;
  readonly authenticate: Authenticator;
  /** Accept binary frames (local lenient mode only; API Gateway refuses them). */
  readonly allowBinary: boolean;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
}

export interface RouteHandlers {
  connect(event: unknown): Promise<GatewayResult>;
  disconnect(event: unknown): Promise<GatewayResult>;
  /** `$default` with direct ingress: one frame per invocation, in no particular order. */
  message(event: unknown): Promise<GatewayResult>;
  /** Ordered ingress: a batch of the SQS FIFO queue (frames and closes, in order per connection). */
  ingress(event: unknown): Promise<BatchResponse>;
}

/** What Lambda's SQS event source mapping expects with ReportBatchItemFailures. */
export interface BatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}
