/**
 * The session queue: what waits for a subscriber, and what is owed to it when it comes back.
 * - Acknowledgements free a Receive Maximum slot, and the queue drains into it.
 * - A queue drains while the window has room, oldest first.
 * - A resumed session gets its unacknowledged messages again (DUP 1) and its PUBRELs
 *   [MQTT-4.4.0-1]; its queue drains after the CONNACK and the resends.
 */
import { planResend, type InflightAckIntent, type InflightCompleteIntent, type InflightEntry, type InflightReleasedIntent } from '../../broker';
import { canSubscribe } from '../../auth/acl';
import type { ConnectionAcl } from '../../auth/types';
import { encode, type PublishPacket } from '../../mqtt';
import type { InflightMessage } from '../../store/message-port';
import type { ConnectionRecord } from '../../store/ports';
import type { SubscriberConnection } from '../../store/subscription-port';
import { subscriberConnection, subscriptionTtl } from '../records';
import type { RuntimeDeps } from '../types';
import { DEFAULT_RECEIVE_MAXIMUM, post, type CopyTarget, type Outlet } from './send';

/** Who a queue drain sends to: the session's identity and its current connection. */
export interface DrainTarget extends CopyTarget {
  readonly connection: SubscriberConnection;
  /** The connection's access rules: a queued message they no longer let it receive is dropped. */
  readonly acl?: ConnectionAcl;
}

/** The drain target of a connection record (after its CONNECT). */
export function drainTargetOf(record: ConnectionRecord): DrainTarget {
  return {
    clientId: record.clientId as string,
    sessionEpoch: record.sessionEpoch ?? '',
    persistent: (record.sessionExpiryInterval ?? 0) > 0,
    connection: subscriberConnection(record),
    ...(record.acl === undefined ? {} : { acl: record.acl }),
  };
}

/**
 * The client acknowledged one of our QoS 1/2 messages (PUBACK, PUBCOMP, PUBREC >= 0x80) or moved
 * it to PUBREL (PUBREC). A clean session keeps no in-flight copy; a queue is drained only if
 * something waits.
 */
export async function acknowledge(
  deps: RuntimeDeps,
  intent: InflightAckIntent | InflightCompleteIntent | InflightReleasedIntent,
  record: ConnectionRecord,
  outlet: Outlet,
): Promise<void> {
  const epoch = record.sessionEpoch ?? '';
  if (intent.kind === 'inflight.released') {
    await deps.messages.released(intent.clientId, epoch, intent.packetId);
    return;
  }
  const stored = (record.sessionExpiryInterval ?? 0) > 0;
  const { queued } = await deps.messages.complete(intent.clientId, epoch, intent.packetId, { stored });
  if (queued > 0) await drainQueue(deps, drainTargetOf(record), 1, outlet);
}

/**
 * Sends queued messages while the Receive Maximum window has room, up to `limit`. Each message
 * is taken from the queue once, after its slot was reserved.
 */
export async function drainQueue(deps: RuntimeDeps, target: DrainTarget, limit: number, outlet?: Outlet): Promise<number> {
  const { clientId, sessionEpoch: epoch, persistent, connection } = target;
  let sent = 0;
  while (sent < limit) {
    const reservation = await deps.messages.reserve(clientId, epoch, connection.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM);
    if (reservation.outcome === 'window-full') break;
    const [queued] = await deps.messages.takeQueued(clientId, epoch, 1);
    if (queued === undefined) {
      await deps.messages.complete(clientId, epoch, reservation.packetId, { stored: false });
      break;
    }
    if (target.acl !== undefined && !canSubscribe(target.acl, queued.packet.topic)) {
      // Queued under rules since narrowed (docs/SECURITY.md): dropped, its reservation freed.
      await deps.messages.complete(clientId, epoch, reservation.packetId, { stored: false });
      deps.log.info('queued message no longer allowed dropped', { clientId, topic: queued.packet.topic });
      continue;
    }
    const packet: PublishPacket = { ...withRemainingExpiry(queued.packet, queued.messageExpiresAt, deps.now()), packetId: reservation.packetId };
    if (persistent) {
      await deps.messages.putInflight(clientId, epoch, {
        packet: queued.packet,
        messageExpiresAt: queued.messageExpiresAt,
        packetId: reservation.packetId,
        stage: 'publish',
        sequence: reservation.sequence,
      });
    }
    await post(deps, connection.connectionId, connection.mode, encode(packet, connection.protocolVersion), outlet);
    sent++;
  }
  return sent;
}

/**
 * A resumed session: its subscriptions point at the new connection, and the packets to resend
 * come back (unacknowledged PUBLISHes with DUP 1, PUBRELs again [MQTT-4.4.0-1]) for the caller to
 * send right after the CONNACK. The queue drains after that (`drainQueue`).
 */
export async function resumeSession(deps: RuntimeDeps, record: ConnectionRecord): Promise<Uint8Array[]> {
  const clientId = record.clientId as string;
  const epoch = record.sessionEpoch ?? '';
  const expiry = record.sessionExpiryInterval ?? 0;
  const acl = record.acl;
  // The resuming CONNECT may persist the session where the old one did not (or the reverse), and
  // its rules may have narrowed since the session subscribed (docs/SECURITY.md): the
  // subscriptions they no longer allow are deleted on the way, in the same pass.
  const ttl = subscriptionTtl(deps.now(), record.expiresAt, expiry);
  await deps.subscriptions.attach(clientId, epoch, subscriberConnection(record), ttl, {
    persistent: expiry > 0,
    ...(acl === undefined ? {} : { drop: (filter: string) => !canSubscribe(acl, filter) }),
  });
  const inflight = await allowedInflight(deps, record, await deps.messages.inflight(clientId, epoch));
  const entries: InflightEntry[] = inflight.map((m) =>
    m.stage === 'pubrel'
      ? { kind: 'pubrel', sequence: m.sequence, packetId: m.packetId }
      : { kind: 'publish', sequence: m.sequence, packet: { ...withRemainingExpiry(m.packet, m.messageExpiresAt, deps.now()), packetId: m.packetId } },
  );
  return planResend(entries).map((p) => encode(p, record.protocolVersion ?? 4));
}

/**
 * Unacknowledged messages the connection's rules no longer let it receive are not resent: each
 * is completed (its packet id and window slot freed) instead. A PUBREL is always sent again: its
 * message was delivered already.
 */
async function allowedInflight(deps: RuntimeDeps, record: ConnectionRecord, inflight: InflightMessage[]): Promise<InflightMessage[]> {
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

/**
 * A stored message as it leaves now: its Message Expiry Interval is what remains of it, not what
 * it arrived with [MQTT-3.3.2-6] (whole seconds, at least 1 while it has not expired).
 */
export function withRemainingExpiry(packet: PublishPacket, messageExpiresAt: number | null, now: number): PublishPacket {
  if (messageExpiresAt === null || packet.properties?.messageExpiryInterval === undefined) return packet;
  const remaining = Math.max(1, Math.ceil((messageExpiresAt - now) / 1000));
  return { ...packet, properties: { ...packet.properties, messageExpiryInterval: remaining } };
}
