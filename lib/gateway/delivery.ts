/**
 * The Delivery port: how the broker's decisions reach devices. On AWS it is the API Gateway
 * connection management API (`@connections`): POST sends, DELETE disconnects, GET describes.
 *
 * Outcomes a sender must handle:
 * - `gone` (410 GoneException): the TARGET connection no longer exists. The adapter calls
 *   `onGone(targetId)` so the caller deletes the records of the connection that is gone, never
 *   the sender's.
 * - `throttled` (429 LimitExceededException): each 429 is answered by pacing (pacing.ts): the
 *   post waits for the connection's next turn and is tried again, and later posts to that
 *   connection wait their turn too; many connections throttled at once pause every post of the
 *   process. `throttled` is the outcome only once the connection stayed throttled (no post to it
 *   succeeding) for PacingPolicy `slowSubscriberMs` (3 s by default): a slow subscriber, which the
 *   caller closes. Every message holds whole packets or one tagged fragment (framing.ts), so the
 *   packets of the `posted` messages reached the client and the rest did not; a packet whose
 *   fragments stopped midway is never handed to MQTT (the client drops its parts).
 * - A timeout (no answer within the management client's request timeout, management-client.ts)
 *   is ambiguous: the message may have been posted. A tagged fragment is posted again once: the
 *   client keeps the first copy of a part and ignores the second (lib/client/reassembly.ts), so
 *   neither a duplicate nor a missing fragment can corrupt its stream. A message of whole packets
 *   is never posted again, as a second copy would be a duplicate MQTT packet (a QoS 0 message
 *   twice, a second CONNACK): the send throws DeliveryTimeoutError (with `posted`), and the
 *   runtime closes the connection, leaving the ambiguity to MQTT's session recovery (a persistent
 *   session's unacknowledged copy is resent with DUP on resume [MQTT-4.4.0-1]).
 * 413 PayloadTooLargeException and 403 ForbiddenException are bugs or misconfiguration and throw
 * typed errors (PayloadTooLargeError, ForbiddenError).
 */
import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  DeliveryError,
  DeliveryTimeoutError,
  ForbiddenError,
  PayloadTooLargeError,
  ThrottledError,
} from './errors';
import { encodeOutgoing } from './framing';
import type { OutgoingMessage } from './framing';
import { splitTag } from '../client/fragment-tag';
import { Pacer, THROTTLED, pacedCall, type PacingClock, type PacingPolicy } from './pacing';
import { withRetry } from '../retry';
import type { RetryPolicy } from '../retry';
import type { TransportMode } from '../api-gateway';

export type SendOutcome =
  /** Every message was posted. `posted` counts messages (POST calls), not packets or bytes. */
  | { readonly status: 'sent'; readonly posted: number }
  /** The connection does not exist any more; `onGone` was called with its id. */
  | { readonly status: 'gone'; readonly posted: number }
  /**
   * The connection stayed throttled past the pacer's bound (a slow subscriber); `posted` messages
   * had gone out before.
   */
  | { readonly status: 'throttled'; readonly posted: number };

export interface ConnectionInfo {
  readonly connectedAt: Date;
  readonly lastActiveAt: Date;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

export interface Delivery {
  /**
   * Posts whole MQTT packets (back to back in `bytes`), in order, as framing.ts lays them out:
   * packed whole packets per message, a packet too big for one post as tagged fragments. Throws
   * FramingError `not-whole-packets` if `bytes` is not whole packets.
   */
  send(connectionId: string, bytes: Uint8Array, mode: TransportMode): Promise<SendOutcome>;
  /** Disconnects the client (no close code). Closing a connection that is gone is not an error. */
  close(connectionId: string): Promise<void>;
  /** The connection's details, or undefined if it is gone (the sweeper's proof of death). */
  info(connectionId: string): Promise<ConnectionInfo | undefined>;
}

/** Told the id of a connection found gone while sending to it. */
export type OnGone = (goneConnectionId: string) => void | Promise<void>;

/** Told of every 429 answer of `@connections`, retries included (the runtime counts DeliveryThrottled). */
export type OnThrottled = (connectionId: string) => void;

/**
 * Retries of a DELETE or GET answered 429 (they are rare, and a slow subscriber's close must not
 * be refused by the stall that closes it): 5 tries, full jitter from 100 ms, at most about 1.5 s.
 */
export const CONTROL_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

/** Posts of a tagged fragment after a timeout (a duplicate part is ignored by the client). */
export const FRAGMENT_TIMEOUT_RETRIES = 1;

export type ManagementClient = Pick<ApiGatewayManagementApiClient, 'send'>;

export interface ApiGatewayDeliveryOptions {
  readonly client: ManagementClient;
  readonly onGone?: OnGone;
  readonly onThrottled?: OnThrottled;
  /** Pacing of posts under 429s. @default DEFAULT_PACING (pacing.ts) */
  readonly pacing?: Partial<PacingPolicy>;
  /** The pacer's clock. @default the real one */
  readonly clock?: PacingClock;
  /** DELETE and GET under 429s. @default CONTROL_RETRY */
  readonly retry?: RetryPolicy;
}

type Failure = 'gone' | 'throttled' | 'timeout' | 'too-large' | 'forbidden' | 'other';

/**
 * Recognises the SDK's exceptions by name, or by HTTP status if a proxy changed the name. A
 * `TimeoutError` is what @smithy/node-http-handler throws when its request or connection timeout
 * fires (with `code` ETIMEDOUT for a socket timeout).
 */
export function classifyFailure(error: unknown): Failure {
  const { name, code, $metadata } = (error ?? {}) as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = $metadata?.httpStatusCode;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return 'timeout';
  if (name === 'GoneException' || status === 410) return 'gone';
  if (name === 'LimitExceededException' || status === 429) return 'throttled';
  if (name === 'PayloadTooLargeException' || status === 413) return 'too-large';
  if (name === 'ForbiddenException' || status === 403) return 'forbidden';
  return 'other';
}

function typedError(connectionId: string, operation: string, error: unknown): Error {
  const where = `${operation} to connection ${connectionId}`;
  switch (classifyFailure(error)) {
    case 'too-large':
      return new PayloadTooLargeError(connectionId, `${where}: payload too large`, { cause: error });
    case 'forbidden':
      return new ForbiddenError(connectionId, `${where}: forbidden`, { cause: error });
    case 'throttled':
      return new ThrottledError(connectionId, `${where}: still throttled after retries`, { cause: error });
    case 'timeout':
      return new DeliveryTimeoutError(connectionId, `${where}: no answer in time`, 0, { cause: error });
    default:
      return new DeliveryError(connectionId, `${where} failed`, { cause: error });
  }
}

/** The Delivery adapter over the API Gateway connection management API. */
export class ApiGatewayDelivery implements Delivery {
  /** The pacing state of this adapter's posts (one per container or process). */
  readonly pacer: Pacer;
  private readonly client: ManagementClient;
  private readonly onGone: OnGone | undefined;
  private readonly onThrottled: OnThrottled | undefined;
  private readonly retry: RetryPolicy;

  constructor(options: ApiGatewayDeliveryOptions) {
    this.client = options.client;
    this.onGone = options.onGone;
    this.onThrottled = options.onThrottled;
    this.pacer = new Pacer(options.pacing, options.clock);
    this.retry = options.retry ?? CONTROL_RETRY;
  }

  async send(connectionId: string, bytes: Uint8Array, mode: TransportMode): Promise<SendOutcome> {
    return sendInOrder(connectionId, encodeOutgoing(bytes, mode), (message, posted) => this.post(connectionId, message, posted), this.pacer, this.onGone);
  }


  async close(connectionId: string): Promise<void> {
    this.pacer.forget(connectionId);
    try {
      await withRetry(this.retry, (error) => this.isThrottle(connectionId, error), () =>
        this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId })),
      );
    } catch (error) {
      if (classifyFailure(error) === 'gone') return;
      throw typedError(connectionId, 'DeleteConnection', error);
    }
  }

  async info(connectionId: string): Promise<ConnectionInfo | undefined> {
    try {
      const output = await withRetry(this.retry, (error) => this.isThrottle(connectionId, error), () =>
        this.client.send(new GetConnectionCommand({ ConnectionId: connectionId })),
      );
      const now = new Date();
      return {
        connectedAt: output.ConnectedAt ?? now,
        lastActiveAt: output.LastActiveAt ?? output.ConnectedAt ?? now,
        sourceIp: output.Identity?.SourceIp,
        userAgent: output.Identity?.UserAgent,
      };
    } catch (error) {
      if (classifyFailure(error) === 'gone') return undefined;
      throw typedError(connectionId, 'GetConnection', error);
    }
  }

  /**
   * Posts one message under the pacer; answers how it ended. A timed-out fragment is posted again
   * (FRAGMENT_TIMEOUT_RETRIES), a timed-out message of whole packets never (DeliveryTimeoutError).
   */
  private async post(connectionId: string, data: OutgoingMessage, posted: number): Promise<'posted' | 'gone' | typeof THROTTLED> {
    for (let timeouts = 0; ; timeouts += 1) {
      try {
        return await pacedCall(this.pacer, connectionId, () => this.postOnce(connectionId, data), this.onThrottled);
      } catch (error) {
        if (classifyFailure(error) !== 'timeout') throw typedError(connectionId, 'PostToConnection', error);
        if (isFragment(data) && timeouts < FRAGMENT_TIMEOUT_RETRIES) continue;
        throw new DeliveryTimeoutError(connectionId, `PostToConnection to connection ${connectionId}: no answer in time`, posted, {
          cause: error,
        });
      }
    }
  }

  /** One POST: 429 and 410 are answers, anything else throws. */
  private async postOnce(connectionId: string, data: OutgoingMessage): Promise<'posted' | 'gone' | typeof THROTTLED> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      return 'posted';
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure === 'throttled') return THROTTLED;
      if (failure === 'gone') return 'gone';
      throw error;
    }
  }

  /** A DELETE's or GET's 429, counted like a post's. */
  private isThrottle(connectionId: string, error: unknown): boolean {
    if (classifyFailure(error) !== 'throttled') return false;
    this.onThrottled?.(connectionId);
    return true;
  }
}

/**
 * Posts a send's messages one at a time, in order (two posts are two independent HTTP requests
 * with no ordering, and the fragments of one packet must reach the client one after the other),
 * and stops at the first that finds the connection gone (`onGone` is told) or stays throttled.
 * Shared by the delivery adapters; `post` is the adapter's paced post of one message.
 */
export async function sendInOrder(
  connectionId: string,
  messages: readonly OutgoingMessage[],
  post: (message: OutgoingMessage, posted: number) => Promise<'posted' | 'gone' | typeof THROTTLED>,
  pacer: Pacer,
  onGone: OnGone | undefined,
): Promise<SendOutcome> {
  let posted = 0;
  for (const message of messages) {
    const answer = await post(message, posted);
    if (answer === 'gone') {
      pacer.forget(connectionId);
      await onGone?.(connectionId);
      return { status: 'gone', posted };
    }
    if (answer === THROTTLED) return { status: 'throttled', posted };
    posted += 1;
  }
  return { status: 'sent', posted };
}

/** A tagged fragment of a big packet (lib/client/fragment-tag.ts), which the client keeps once. */
export function isFragment(message: OutgoingMessage): boolean {
  return typeof message === 'string' && splitTag(message)?.tag !== undefined;
}
