/**
 * A resumed session, in the order the client must see it: CONNACK, then the in-flight resends
 * [MQTT-4.4.0-1], then the queued backlog, then live messages [MQTT-4.6.0-5].
 *
 *   CONNECT (in the pipeline)  hold the session's gate → read the in-flight messages → the
 *                              resends, which follow the CONNACK in the reply post
 *   after the reply post       the subscriptions point at the new connection → the queue
 *                              drains → the gate opens to the connection (./../message.ts)
 *
 * While the gate is held, every other reservation for the session is refused (it is checked in
 * the reservation's own conditional write), so a live QoS 1/2 copy goes to the queue behind the
 * backlog instead of being posted, and no other drain (an ack's, a fan-out's) takes from the
 * queue. The gate opens only over an empty queue (or a full window, which an ack drains), so
 * nothing queued meanwhile is left behind. The subscriptions are pointed at the new connection
 * only after the reply post, so that not even a QoS 0 copy, which takes no reservation, goes
 * out before the CONNACK [MQTT-3.2.0-1].
 *
 * Late copies. A live copy for the old connection may have taken its packet id just before the
 * hold and store its in-flight message just after the resume read the window (one DynamoDB write
 * apart): its own invocation posts it to the old connection, and the read missed it. The read
 * names such ids (`unstored`: reserved recently, no message yet). A copy reserved after such an
 * id may have been stored before it, so when the read names one, no resend goes with the
 * CONNACK: after the reply post the resume reads the window again, a few times over about half a
 * second, until each such id has its message or is free, then sends every resend, the late ones
 * included, with DUP and by sequence (reservation order), before the backlog (which is newer: a
 * live reservation passes only over an empty queue). Only a resume that finds such an id pays
 * for the extra reads and the wait. One whose invocation stalls longer than that wait (or died)
 * is left in flight and resent on the next resume.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { planResend, type InflightEntry } from '../../broker';
import { canSubscribe } from '../../auth/acl';
import { encode } from '../../mqtt';
import { concatBytes } from '../../mqtt/bytes';
import type { InflightMessage } from '../../store/message-port';
import type { ConnectionRecord } from '../../store/ports';
import type { Resumed } from '../outbox';
import { subscriberConnection, subscriptionTtl } from '../records';
import type { RuntimeDeps } from '../types';
import { drainQueue, drainTargetOf, withRemainingExpiry } from './queue';
import { DEFAULT_RECEIVE_MAXIMUM, post } from './send';

/** Drain rounds before the gate opens whatever waits (the behind-queue rule keeps the order then). */
const OPEN_ROUNDS = 8;

/** The pauses before each read of the window that looks for late copies (about half a second in all). */
const LATE_COPY_WAITS_MS = [10, 20, 40, 80, 160, 240];

/**
 * The CONNECT's part: the gate held for this connection, then the packets to resend
 * (unacknowledged PUBLISHes with DUP 1, PUBRELs again [MQTT-4.4.0-1]) for the caller to send
 * right after the CONNACK; `finishResume` does the rest once they are out.
 */
export async function resumeSession(deps: RuntimeDeps, record: ConnectionRecord): Promise<{ resends: Uint8Array[]; resumed: Resumed }> {
  const clientId = record.clientId as string;
  const epoch = record.sessionEpoch ?? '';
  // Held before the in-flight read: a copy reserved after it is queued, never left out of both.
  const { queued } = await deps.messages.holdGate(clientId, epoch, record.connectionId);
  const window = await deps.messages.readWindow(clientId, epoch);
  const { messages, unstored } = window;
  // An id still to be stored holds every resend back until it is (see the header, late copies).
  if (unstored.length > 0) return { resends: [], resumed: { record, queued, unstored, heldBack: messages } };
  return { resends: await resendsOf(deps, record, messages), resumed: { record, queued, unstored, heldBack: [] } };
}

/** Unacknowledged messages as the packets to send again: PUBLISH with DUP 1, or PUBREL [MQTT-4.4.0-1]. */
async function resendsOf(deps: RuntimeDeps, record: ConnectionRecord, messages: readonly InflightMessage[]): Promise<Uint8Array[]> {
  const inflight = await allowedInflight(deps, record, messages);
  const entries: InflightEntry[] = inflight.map((m) =>
    m.stage === 'pubrel'
      ? { kind: 'pubrel', sequence: m.sequence, packetId: m.packetId }
      : { kind: 'publish', sequence: m.sequence, packet: { ...withRemainingExpiry(m.packet, m.messageExpiresAt, deps.now()), packetId: m.packetId } },
  );
  return planResend(entries).map((p) => encode(p, record.protocolVersion ?? 4));
}

/**
 * The late copies (see the header): the window is read again until each id the CONNECT's read
 * found without a message has its message or is free (acknowledged, or reclaimed), or the waits
 * run out; then the resends held back and the late copies go out together, by sequence.
 */
async function resendLate(deps: RuntimeDeps, resumed: Resumed): Promise<void> {
  const { record, unstored, heldBack } = resumed;
  if (unstored.length === 0) return;
  const clientId = record.clientId as string;
  const epoch = record.sessionEpoch ?? '';
  const waiting = new Set(unstored);
  let current = heldBack;
  for (const wait of LATE_COPY_WAITS_MS) {
    if (waiting.size === 0) break;
    await sleep(wait);
    const window = await deps.messages.readWindow(clientId, epoch);
    current = window.messages;
    const reserved = new Set(window.unstored);
    for (const id of waiting) if (!reserved.has(id)) waiting.delete(id);
  }
  // The latest read of the messages the CONNECT's read named: one acknowledged meanwhile is gone,
  // a QoS 2 copy whose PUBREC came is a PUBREL now. No other reservation passes the held gate.
  const named = new Set([...heldBack.map((m) => m.packetId), ...unstored]);
  const sending = current.filter((m) => named.has(m.packetId));
  const resends = await resendsOf(deps, record, sending);
  if (resends.length > 0) await post(deps, record.connectionId, record.mode, concatBytes(resends));
  const late = sending.filter((m) => unstored.includes(m.packetId)).map((m) => m.packetId);
  if (late.length > 0) deps.log.info('late in-flight copies resent', { clientId, packetIds: late });
  if (waiting.size > 0) {
    deps.log.warn('in-flight copies not stored in time: resent on the next resume', { clientId, packetIds: [...waiting] });
  }
}

/**
 * After the CONNACK and the resends are out: the subscriptions point at the connection, the
 * backlog drains, and the gate opens; a message queued while the queue was draining is drained
 * before the gate opens (the opening is refused while one waits and the window has room).
 */
export async function finishResume(deps: RuntimeDeps, resumed: Resumed): Promise<void> {
  const { record } = resumed;
  await resendLate(deps, resumed);
  await attach(deps, record);
  const target = { ...drainTargetOf(record), resuming: true };
  const { clientId, sessionEpoch, connection } = target;
  const receiveMaximum = connection.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM;
  let waiting = resumed.queued > 0;
  for (let round = 1; ; round++) {
    if (waiting) await drainQueue(deps, target, deps.maxQueued);
    const opening = await deps.messages.openGate(clientId, sessionEpoch, connection.connectionId, receiveMaximum, round >= OPEN_ROUNDS);
    // 'lost': a newer CONNECT holds the gate; its own resume sends from here.
    if (opening !== 'queued') return;
    waiting = true;
  }
}

/**
 * The subscriptions point at the connection. The resuming CONNECT may persist the session where
 * the old one did not (or the reverse), and its rules may have narrowed since the session
 * subscribed (docs/SECURITY.md): the subscriptions they no longer allow are deleted on the way,
 * in the same pass.
 */
async function attach(deps: RuntimeDeps, record: ConnectionRecord): Promise<void> {
  const expiry = record.sessionExpiryInterval ?? 0;
  const acl = record.acl;
  const ttl = subscriptionTtl(deps.now(), record.expiresAt, expiry);
  await deps.subscriptions.attach(record.clientId as string, record.sessionEpoch ?? '', subscriberConnection(record), ttl, {
    persistent: expiry > 0,
    ...(acl === undefined ? {} : { drop: (filter: string) => !canSubscribe(acl, filter) }),
  });
}

/**
 * Unacknowledged messages the connection's rules no longer let it receive are not resent: each
 * is completed (its packet id and window slot freed) instead. A PUBREL is always sent again: its
 * message was delivered already.
 */
async function allowedInflight(deps: RuntimeDeps, record: ConnectionRecord, inflight: readonly InflightMessage[]): Promise<readonly InflightMessage[]> {
  const acl = record.acl;
  if (acl === undefined) return inflight;
  const kept: InflightMessage[] = [];
  for (const m of inflight) {
    if (m.stage === 'publish' && !canSubscribe(acl, m.packet.topic)) {
      await deps.messages.complete(record.clientId as string, record.sessionEpoch ?? '', m.packetId, { stored: true });
      deps.log.info('unacknowledged message no longer allowed dropped', { clientId: record.clientId, topic: m.packet.topic });
    } else {
      kept.push(m);
    }
  }
  return kept;
}
