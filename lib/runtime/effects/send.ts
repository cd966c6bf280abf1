/**
 * The steps every outgoing application message takes, whatever sent it (a fan-out, a queue
 * drain, a retained message after SUBACK): take a packet id and a Receive Maximum slot, keep the
 * copy in flight for a persistent session, queue it when the window is full, post it.
 *
 * A QoS 1/2 copy takes its packet id and window slot in one conditional write; a persistent
 * subscriber's copy is also kept in flight until acknowledged, so it survives a lost connection
 * and is resent with DUP on resume [MQTT-4.4.0-1]. A QoS 0 copy is posted with no write.
 */
import { randomUUID } from 'node:crypto';
import type { TransportMode } from '../../api-gateway';
import { DeliveryTimeoutError } from '../../gateway/errors';
import type { SendOutcome } from '../../gateway/delivery';
import type { PublishPacket } from '../../mqtt';
import type { EnqueueSlot, Gate } from '../../store/message-port';
import type { RuntimeDeps } from '../types';
import { closeQuietly } from '../outbox';

/** No Receive Maximum announced: the spec default (MQTT 5.0 section 3.1.2.11.3, 65,535). */
export const DEFAULT_RECEIVE_MAXIMUM = 65_535;

/** The session a copy is for. */
export interface CopyTarget {
  readonly clientId: string;
  readonly sessionEpoch: string;
  /** The session outlives its connection: sent copies are kept in flight until acknowledged. */
  readonly persistent: boolean;
}

/** A copy that went to the session's queue instead: the gate as the queue saw it (undefined: dropped, the queue was full). */
export interface Queued {
  readonly queued: Gate | undefined;
}

/**
 * How far one copy got, so that a retry goes on from the step that failed: it keeps the packet id
 * and window slot already taken (a second reservation would leak the first slot, and send the
 * copy again under another packet id), and stores the in-flight copy once.
 */
export interface CopyProgress {
  reservation?: { readonly packetId: number; readonly sequence: number };
  stored?: boolean;
  /** A post was attempted: a retry is a re-delivery, with DUP 1 [MQTT-3.3.1-1]. */
  posted?: boolean;
  /** The copy went to the queue instead (a retry must not queue it twice). */
  queued?: Queued;
  /** The request token of the copy's enqueue, the same on a retry (MessageStore `enqueue`). */
  enqueueToken?: string;
  /** The queue slot the copy's enqueue took, noted by the store: a retry puts it there, once. */
  enqueueSlot?: EnqueueSlot;
}

/**
 * A copy ready to send to connection `to`: QoS 0 as it is; QoS 1/2 with a packet id and a window
 * slot (and kept in flight for a persistent session). Queued instead when the window is full,
 * when older copies wait in the queue, or when the session's gate does not let copies through to
 * `to` (a resume is sending its backlog, or `to` is not the session's connection any more).
 */
export async function prepare(
  deps: RuntimeDeps,
  target: CopyTarget,
  to: string,
  packet: PublishPacket,
  messageExpiresAt: number | null,
  receiveMaximum: number | undefined,
  progress: CopyProgress = {},
): Promise<PublishPacket | Queued> {
  if (packet.qos === 0) return packet;
  if (progress.queued !== undefined) return progress.queued;
  if (progress.reservation === undefined && progress.enqueueToken !== undefined) {
    // A retry after an enqueue whose answer was lost: the copy may be queued already, and a drain
    // may have taken it since, so it is never reserved now (a second copy under another packet
    // id); the enqueue is asked again under its token, which answers the first one's outcome.
    progress.queued = { queued: await enqueue(deps, target, packet, messageExpiresAt, progress) };
    return progress.queued;
  }
  if (progress.reservation === undefined) {
    // Behind the queue: a new copy never overtakes older ones waiting for this session.
    const reservation = await deps.messages.reserve(target.clientId, target.sessionEpoch, receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM, {
      behindQueue: true,
      to,
    });
    if (reservation.outcome === 'window-full') {
      progress.queued = { queued: await enqueue(deps, target, packet, messageExpiresAt, progress) };
      return progress.queued;
    }
    progress.reservation = reservation;
  }
  const { packetId, sequence } = progress.reservation;
  if (target.persistent && progress.stored !== true) {
    await deps.messages.putInflight(target.clientId, target.sessionEpoch, { packet, messageExpiresAt, packetId, stage: 'publish', sequence });
    progress.stored = true;
  }
  return { ...packet, packetId, ...(progress.posted === true && { dup: true }) };
}

/**
 * Appends a copy to its session's queue and answers the session's gate; a full queue drops it,
 * counted and logged (undefined).
 */
export async function enqueue(
  deps: RuntimeDeps,
  target: CopyTarget,
  packet: PublishPacket,
  messageExpiresAt: number | null,
  progress: CopyProgress = {},
): Promise<Gate | undefined> {
  progress.enqueueToken ??= randomUUID();
  const result = await deps.messages.enqueue(target.clientId, target.sessionEpoch, { packet, messageExpiresAt }, deps.maxQueued, {
    requestToken: progress.enqueueToken,
    slot: (progress.enqueueSlot ??= {}),
  });
  if (result.outcome === 'queued') return result.gate;
  deps.metrics.add('QueueOverflows');
  deps.log.warn('queue full: message dropped', { clientId: target.clientId, topic: packet.topic, maxQueued: deps.maxQueued });
  return undefined;
}

/**
 * The reply post of the invocation: bytes for the connection the packets came from are added to
 * it instead of being posted on their own. They then follow the replies already decided (a
 * CONNACK always comes first [MQTT-3.2.0-1]), and cost no message of their own.
 */
export interface Outlet {
  readonly connectionId: string;
  push(bytes: Uint8Array): void;
}

/**
 * Posts bytes to a subscriber's connection (through the outlet when it is the sender's own).
 *
 * - `throttled`: the delivery port paced and retried the 429s until the connection had stayed
 *   throttled for its bound (lib/gateway/pacing.ts, 3 s): a slow subscriber. The copy did not (or
 *   only partly) reach the client and no ack will free its slot, so the connection is closed
 *   (`SlowSubscriberClosed`). The copy is not posted again here: a persistent session keeps it in
 *   flight (it was stored before the post) and its resume resends it with DUP [MQTT-4.4.0-1]; a
 *   clean session ends with its connection.
 * - DeliveryTimeoutError: the post got no answer in time and may have reached the client. It is
 *   not posted again (a second copy would be a duplicate packet under the same packet id, maybe
 *   after the client ended its flow); the connection is closed and MQTT's session recovery settles
 *   it, as above. Returns normally, so the fan-out and the drain do not retry the post either.
 */
export async function post(deps: RuntimeDeps, connectionId: string, mode: TransportMode, bytes: Uint8Array, outlet?: Outlet): Promise<void> {
  if (outlet !== undefined && outlet.connectionId === connectionId) {
    outlet.push(bytes);
    return;
  }
  let outcome: SendOutcome;
  try {
    outcome = await deps.delivery.send(connectionId, bytes, mode);
  } catch (error) {
    if (!(error instanceof DeliveryTimeoutError)) throw error;
    deps.metrics.add('DeliveryErrors');
    deps.log.warn('delivery timed out: closing the connection', { connectionId, posted: error.posted });
    await closeQuietly(deps, connectionId);
    return;
  }
  deps.metrics.add('MessagesOut');
  deps.metrics.add('BytesOut', bytes.byteLength);
  if (outcome.status === 'gone') deps.metrics.add('Gone410');
  if (outcome.status === 'throttled') {
    deps.metrics.add('SlowSubscriberClosed');
    deps.log.warn('delivery stayed throttled: closing the slow subscriber', { connectionId, posted: outcome.posted });
    await closeQuietly(deps, connectionId);
  }
}
