/**
 * The Delivery port: how the broker's decisions reach devices. On AWS it is the API Gateway
 * connection management API (`@connections`): POST sends, DELETE disconnects, GET describes.
 *
 * Outcomes a sender must handle:
 * - `gone` (410 GoneException): the TARGET connection no longer exists. The adapter calls
 *   `onGone(targetId)` so the caller deletes the records of the connection that is gone, never
 *   the sender's.
 * - `throttled` (429 LimitExceededException after bounded retries): the client or the account is
 *   over its rate. Every message holds whole packets or one tagged fragment (framing.ts), so the
 *   packets of the `posted` messages reached the client and the rest did not; a packet whose
 *   fragments stopped midway is never handed to MQTT (the client drops its parts). The client's
 *   stream stays valid; whether to close the connection is the caller's choice.
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
  ForbiddenError,
  PayloadTooLargeError,
  ThrottledError,
} from './errors';
import { encodeOutgoing } from './framing';
import type { OutgoingMessage } from './framing';
import { DEFAULT_RETRY, withRetry } from '../retry';
import type { RetryPolicy } from '../retry';
import type { TransportMode } from '../api-gateway';

export type SendOutcome =
  /** Every message was posted. `posted` counts messages (POST calls), not packets or bytes. */
  | { readonly status: 'sent'; readonly posted: number }
  /** The connection does not exist any more; `onGone` was called with its id. */
  | { readonly status: 'gone'; readonly posted: number }
  /** Still throttled after the last retry; `posted` messages had gone out before. */
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

export type ManagementClient = Pick<ApiGatewayManagementApiClient, 'send'>;

export interface ApiGatewayDeliveryOptions {
  readonly client: ManagementClient;
  readonly onGone?: OnGone;
  /** @default DEFAULT_RETRY (3 attempts, full jitter) */
  readonly retry?: RetryPolicy;
}

type Failure = 'gone' | 'throttled' | 'too-large' | 'forbidden' | 'other';

/** Recognises the SDK's exceptions by name, or by HTTP status if a proxy changed the name. */
export function classifyFailure(error: unknown): Failure {
  const { name, $metadata } = (error ?? {}) as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = $metadata?.httpStatusCode;
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
    default:
      return new DeliveryError(connectionId, `${where} failed`, { cause: error });
  }
}

/** The Delivery adapter over the API Gateway connection management API. */
export class ApiGatewayDelivery implements Delivery {
  private readonly client: ManagementClient;
  private readonly onGone: OnGone | undefined;
  private readonly retry: RetryPolicy;

  constructor(options: ApiGatewayDeliveryOptions) {
    this.client = options.client;
    this.onGone = options.onGone;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  async send(connectionId: string, bytes: Uint8Array, mode: TransportMode): Promise<SendOutcome> {
    const messages = encodeOutgoing(bytes, mode);
    let posted = 0;
    // One message at a time: two posts are two independent HTTP requests with no ordering, and the
    // fragments of one packet must reach the client one after the other.
    for (const message of messages) {
      const failure = await this.post(connectionId, message);
      if (failure === 'gone') {
        await this.onGone?.(connectionId);
        return { status: 'gone', posted };
      }
      if (failure === 'throttled') return { status: 'throttled', posted };
      posted += 1;
    }
    return { status: 'sent', posted };
  }

  async close(connectionId: string): Promise<void> {
    try {
      await withRetry(this.retry, isThrottle, () =>
        this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId })),
      );
    } catch (error) {
      if (classifyFailure(error) === 'gone') return;
      throw typedError(connectionId, 'DeleteConnection', error);
    }
  }

  async info(connectionId: string): Promise<ConnectionInfo | undefined> {
    try {
      const output = await withRetry(this.retry, isThrottle, () =>
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

  /** Posts one message, retrying throttles; answers the failure that ended it, if any. */
  private async post(connectionId: string, data: OutgoingMessage): Promise<'gone' | 'throttled' | undefined> {
    try {
      await withRetry(this.retry, isThrottle, () =>
        this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })),
      );
      return undefined;
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure === 'gone' || failure === 'throttled') return failure;
      throw typedError(connectionId, 'PostToConnection', error);
    }
  }
}

function isThrottle(error: unknown): boolean {
  return classifyFailure(error) === 'throttled';
}
