/**
 * The session queue: what waits for a subscriber.
 * - Acknowledgements free a Receive Maximum slot, and the queue drains into it.
 * - A queue drains while the window has room, oldest first, to the connection the session's gate
 *   lets through (lib/store/message-port.ts `Gate`); a resume drains it while it holds the gate
 *   (./resume.ts).
 */
import type { InflightAckIntent, InflightCompleteIntent, InflightReleasedIntent } from '../../broker';
import { canSubscribe } from '../../auth/acl';
import type { ConnectionAcl } from '../../auth/types';
import { encode, type PublishPacket } from '../../mqtt';
import type { Gate } from '../../store/message-port';
import type { ConnectionRecord } from '../../store/ports';
import type { SubscriberConnection } from '../../store/subscription-port';
import { subscriberConnection } from '../records';
import type { RuntimeDeps } from '../types';
import { DEFAULT_RECEIVE_MAXIMUM, post, type CopyTarget, type Outlet } from './send';

/** Who a queue drain sends to: the session's identity and its current connection. */
export interface DrainTarget extends CopyTarget {
  readonly connection: SubscriberConnection;
  /** The connection's access rules: a queued message they no longer let it receive is dropped. */
  readonly acl?: ConnectionAcl;
  /** The resume of this connection drains, holding the session's gate. */
  readonly resuming?: boolean;
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
 * is taken from the queue once, after its slot was reserved, and for a persistent session moved
 * in flight under that slot in the same write (MessageStore `dequeue`): a drain cut short after
 * its take (the post failed, the function died) leaves the message in flight, resent on the next
 * resume [MQTT-4.4.0-1], never lost. A failed take or post is tried once more under the same
 * reservation, so a message never goes out twice under different packet ids.
 */
export async function drainQueue(deps: RuntimeDeps, target: DrainTarget, limit: number, outlet?: Outlet): Promise<number> {
  const { clientId, sessionEpoch: epoch, persistent, connection } = target;
  let sent = 0;
  while (sent < limit) {
    const reservation = await deps.messages.reserve(clientId, epoch, connection.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM, {
      to: connection.connectionId,
      resuming: target.resuming === true,
    });
    if (reservation.outcome === 'window-full') break;
    const into = { packetId: reservation.packetId, sequence: reservation.sequence, keep: persistent };
    let takes = 0;
    const queued = await twice(() => deps.messages.dequeue(clientId, epoch, { ...into, rerun: takes++ > 0 }));
    if (queued === undefined) {
      await deps.messages.complete(clientId, epoch, reservation.packetId, { stored: false });
      break;
    }
    if (target.acl !== undefined && !canSubscribe(target.acl, queued.packet.topic)) {
      // Queued under rules since narrowed (docs/SECURITY.md): dropped, its reservation freed.
      await deps.messages.complete(clientId, epoch, reservation.packetId, { stored: persistent });
      deps.log.info('queued message no longer allowed dropped', { clientId, topic: queued.packet.topic });
      continue;
    }
    // The interval that remains, not the one it arrived with [MQTT-3.3.2-6]
    const packet: PublishPacket = { ...withRemainingExpiry(queued.packet, queued.messageExpiresAt, deps.now()), packetId: reservation.packetId };
    let posts = 0;
    await twice(() => post(deps, connection.connectionId, connection.mode, encode(posts++ === 0 ? packet : { ...packet, dup: true }, connection.protocolVersion), outlet));
    sent++;
  }
  return sent;
}

/** Runs a step that is safe to repeat, once more if it fails. */
async function twice<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch {
    return step();
  }
}

/**
 * A copy was just queued (the window was full, older copies wait, the gate let it not through,
 * or its route was offline): one queued message drains toward the connection the gate lets
 * through, so that nothing waits for an ack that never comes. A gate open to another connection
 * than the copy's route named (the route was read before the session moved) costs a read of that
 * connection's record; a held gate (its resume drains) or a closed one (offline) costs nothing.
 */
export async function drainAfterQueued(
  deps: RuntimeDeps,
  target: CopyTarget,
  gate: Gate | undefined,
  planned: SubscriberConnection | undefined,
  outlet?: Outlet,
): Promise<void> {
  if (gate === undefined || gate.state === 'held' || gate.state === 'closed') return;
  const session: CopyTarget = { clientId: target.clientId, sessionEpoch: target.sessionEpoch, persistent: target.persistent };
  let drainTarget: DrainTarget | undefined;
  if (gate.state === 'none' || gate.connectionId === planned?.connectionId) {
    drainTarget = planned === undefined ? undefined : { ...session, connection: planned };
  } else {
    drainTarget = await liveTarget(deps, session, gate.connectionId);
  }
  if (drainTarget !== undefined) await drainQueue(deps, drainTarget, 1, outlet);
}

/** The drain target of the session's live connection, if that connection still serves the session. */
async function liveTarget(deps: RuntimeDeps, target: CopyTarget, connectionId: string): Promise<DrainTarget | undefined> {
  const record = await deps.connections.get(connectionId);
  if (record?.status !== 'mqtt' || record.clientId !== target.clientId || record.sessionEpoch !== target.sessionEpoch) return undefined;
  return drainTargetOf(record);
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
