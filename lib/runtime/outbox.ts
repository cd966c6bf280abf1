/**
 * The replies of one `$default` invocation: every packet for the sender's connection gathered,
 * then packed into one post (API Gateway meters per message, so one post is cheaper than one per
 * packet), then the close when the core asked for one.
 */
import type { Decision } from '../broker';
import type { TransportMode } from '../api-gateway';
import type { SendOutcome } from '../gateway/delivery';
import { encode } from '../mqtt';
import { concatBytes } from '../mqtt/bytes';
import type { InflightMessage } from '../store/message-port';
import type { ConnectionRecord } from '../store/ports';
import type { RuntimeDeps } from './types';

/** A session resumed in a message: its record, and how many messages its queue held when the resume took its gate. */
export interface Resumed {
  readonly record: ConnectionRecord;
  readonly queued: number;
  /** Packet ids the CONNECT's read found reserved without a message yet (./effects/resume.ts, late copies). */
  readonly unstored: readonly number[];
  /** With `unstored`: the in-flight messages the CONNECT's read found, resent only once those are stored. */
  readonly heldBack: readonly InflightMessage[];
}

/** What one invocation accumulates: reply bytes, and whether to close afterwards. */
export interface Outbox {
  /** How the connection carries bytes: the frames it sent decide. */
  readonly mode: TransportMode;
  readonly chunks: Uint8Array[];
  close: boolean;
  /** A session resumed in this message: its resume finishes after the replies are sent (effects/resume.ts). */
  resumed: Resumed | undefined;
}

export function createOutbox(mode: TransportMode): Outbox {
  return { mode, chunks: [], close: false, resumed: undefined };
}

/** Adds what `from` gathered (one frame that succeeded) to `into` (the connection's batch). */
export function merge(into: Outbox, from: Outbox): void {
  into.chunks.push(...from.chunks);
  if (from.close) into.close = true;
  if (from.resumed !== undefined) into.resumed = from.resumed;
}

/** The decision's packets, encoded in its protocol version, and its close. */
export function queue(outbox: Outbox, decision: Decision): void {
  for (const packet of decision.send) outbox.chunks.push(encode(packet, decision.protocolVersion));
  if (decision.close !== null) outbox.close = true;
}

/**
 * Sends the replies, then closes if the core said so; false when the connection was closed. A
 * reply that never arrives (a CONNACK, a PUBACK) would leave the client waiting until its own
 * timeout (a throttled send delivers whole packets only, but maybe not all of them); so the
 * connection is closed instead, and the client reconnects and resends its unacknowledged QoS 1/2
 * messages [MQTT-4.4.0-1]. That is: still throttled past the delivery port's bound (a slow
 * client, counted `SlowSubscriberClosed`), or a post with no answer in time (DeliveryTimeoutError:
 * the replies are never posted twice, a second CONNACK would be a protocol error).
 */
export async function flushOrClose(deps: RuntimeDeps, connectionId: string, mode: TransportMode, outbox: Outbox): Promise<boolean> {
  let status: SendOutcome['status'];
  try {
    status = await sendReplies(deps, connectionId, mode, outbox);
  } catch (error) {
    deps.log.error('replies not delivered: closing the connection', { connectionId, error });
    await closeQuietly(deps, connectionId);
    return false;
  }
  if (status === 'gone') return false;
  if (status === 'throttled') {
    deps.metrics.add('SlowSubscriberClosed');
    deps.log.warn('replies stayed throttled: closing the connection', { connectionId });
    await closeQuietly(deps, connectionId);
    return false;
  }
  if (outbox.close) await closeQuietly(deps, connectionId);
  return !outbox.close;
}

/** Posts the replies, if any; answers how the post ended. */
async function sendReplies(deps: RuntimeDeps, connectionId: string, mode: TransportMode, outbox: Outbox): Promise<SendOutcome['status']> {
  if (outbox.chunks.length === 0) return 'sent';
  const bytes = concatBytes(outbox.chunks);
  const outcome = await deps.delivery.send(connectionId, bytes, mode);
  deps.metrics.add('MessagesOut', outbox.chunks.length);
  deps.metrics.add('BytesOut', bytes.byteLength);
  if (outcome.status === 'gone') deps.metrics.add('Gone410');
  return outcome.status;
}

/** Closes the connection; a failure is logged (the client's keep-alive or the gateway ends it). */
export async function closeQuietly(deps: RuntimeDeps, connectionId: string): Promise<void> {
  try {
    await deps.delivery.close(connectionId);
  } catch (error) {
    deps.log.warn('closing the connection failed', { connectionId, error });
  }
}
