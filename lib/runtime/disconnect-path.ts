/**
 * The one disconnect path, shared by `$disconnect`, the sweeper (for the `$disconnect` events that
 * never arrive) and deliveries that find a connection gone. Idempotent: running it twice for a
 * connection is safe, and a run that died at any step is finished by the next one (issue 13).
 *
 * Order matters: the session is released (and its subscriptions detached, its will taken) before
 * the connection record is deleted. If a step fails, the record is still there, and the next
 * attempt (another `$disconnect`, the sweeper) finishes the job instead of finding nothing:
 * - release run again by the same connection answers 'released' again (lib/store/session-port.ts),
 *   so the steps after it run again: closing the gate and detaching the routes touch only what
 *   still points at this connection, and ending the session happens only while no newer claim
 *   took it;
 * - the will release took stays held in the session item until `settleWill`, after it was
 *   published: a run that died before publishing leaves it to the rerun, a run that died after
 *   settling leaves nothing (at least once; exactly once unless a run dies between the two, so
 *   a settle that fails is tried again in place rather than left to the rerun). Two
 *   runs at once (`$disconnect` beside a delivery's 410) do not both publish it: within a lease
 *   after the release, the other run is told 'in-progress' and leaves the record to the first.
 */
import type { QueuedCloseCause } from '../ingress-wire';
import { withRetry, type RetryPolicy } from '../retry';
import type { ConnectionRecord } from '../store/ports';
import { subscriptionTtl } from './records';
import type { RuntimeDeps } from './types';

export type DisconnectCause = 'client-closed' | QueuedCloseCause | 'expired';

/**
 * A connection found closed by the broker, not by its close event: the sweeper (a 410 on GET, an
 * expired Keep Alive, no CONNECT), or a post answered 410. Its frames may still wait in the
 * ingress queue, a DISCONNECT among them (a client sends DISCONNECT and closes at once): running
 * the disconnect path now would publish a will the client cancelled [MQTT-3.1.2-10]
 * [MQTT-3.14.4-3], or end a session its DISCONNECT kept. With ordered ingress the close is
 * queued in the connection's own message group instead, behind those frames, as API Gateway's
 * `$disconnect` is; direct ingress has no such order, and runs the path now.
 */
export async function closeFound(deps: RuntimeDeps, connectionId: string, cause: QueuedCloseCause, known?: ConnectionRecord): Promise<void> {
  if (deps.queueClose === undefined) {
    await runDisconnectPath(deps, connectionId, cause, known);
    return;
  }
  await deps.queueClose(connectionId, cause, deps.now());
  deps.log.info('close queued behind the connection\'s frames', { connectionId, clientId: known?.clientId, cause });
}

export async function runDisconnectPath(
  deps: RuntimeDeps,
  connectionId: string,
  cause: DisconnectCause,
  /** The record when the caller has it already (the sweeper's page, expired records included). */
  known?: ConnectionRecord,
  /** When the connection closed, epoch ms: the session's expiry counts from then. Default: now. */
  closedAt?: number,
  /** A takeover's queued close (`heldFor`): the client id whose session holds this connection's will. */
  heldFor?: string,
): Promise<ConnectionRecord | undefined> {
  const record = known ?? (await deps.connections.get(connectionId));
  if (record === undefined) {
    // Nothing left: a DISCONNECT ran this path already, or an earlier run finished it; but a will
    // a takeover held for this connection after that run is still this close's to publish.
    if (heldFor !== undefined) await publishHeldWill(deps, heldFor, connectionId);
    return undefined;
  }
  if (record.clientId !== undefined && record.status === 'mqtt') {
    // Ordered ingress runs every close of a connection in its message group, one at a time (the
    // sweeper's close of an expired record aside): a will held by an earlier run is a failed run's.
    const serialized = deps.queueClose !== undefined && cause !== 'expired';
    const released = await releaseSession(deps, record, closedAt ?? deps.now(), serialized);
    // Another run of this path is publishing the will: it removes the record (or, if it died, a rerun).
    if (released === 'in-progress') {
      deps.log.info('disconnect path in progress in another run: record left to it', { connectionId, clientId: record.clientId, cause });
      return record;
    }
  }
  await deps.connections.remove(connectionId);
  deps.log.info('disconnected', { connectionId, clientId: record?.clientId, cause });
  return record;
}

/**
 * Releases the session if this connection still owns it (a stale release after a takeover is a
 * no-op), and takes its will: published now, or deferred by its Will Delay to the sweeper.
 */
async function releaseSession(deps: RuntimeDeps, record: ConnectionRecord, closedAt: number, serialized: boolean): Promise<'done' | 'in-progress'> {
  const clientId = record.clientId as string;
  const connectionId = record.connectionId;
  const released = await deps.sessions.release({
    clientId,
    connectionId,
    now: closedAt,
    sessionEpoch: record.sessionEpoch,
    hasWill: record.hasWill === true,
    serialized,
  });
  if (released.outcome === 'in-progress') return 'in-progress';
  if (released.outcome !== 'released') return 'done';
  if (released.sessionEnded) {
    // The session is over: its subscriptions and message state go with it.
    await deps.subscriptions.deleteAll(clientId, { through: record.sessionEpoch ?? '' });
    await deps.messages.deleteAll(clientId, { through: record.sessionEpoch ?? '' });
  } else {
    // Offline: the session's gate closes to this connection (a copy planned for it is queued),
    // and subscriptions stop pointing at it (not at a newer one that already resumed the
    // session); QoS 1/2 copies queue instead.
    await deps.messages.closeGate(clientId, record.sessionEpoch ?? '', connectionId);
    const ttl = subscriptionTtl(deps.now(), Math.floor(closedAt / 1000), record.sessionExpiryInterval ?? 0);
    await deps.subscriptions.attach(clientId, record.sessionEpoch ?? '', null, ttl, { onlyIfConnectionId: connectionId });
  }
  if (released.will.action === 'publish') await deps.publishWill(released.will.will, clientId);
  // A will published and left held would be published again by the rerun: the settle (idempotent)
  // is tried again in place, so that only a run that dies here publishes it twice.
  if (released.willHeld) await withRetry(SETTLE_RETRY, () => true, () => deps.sessions.settleWill({ clientId, connectionId }));
  return 'done';
}

const SETTLE_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 };

/**
 * A takeover held this connection's will for its close (lib/runtime/effects/session.ts
 * `handOverWill`), and the connection's record is gone already: no DISCONNECT discarded it
 * (that removes a held will, [MQTT-3.1.2-10]), so it is published now [MQTT-3.1.2-8], then settled.
 */
async function publishHeldWill(deps: RuntimeDeps, clientId: string, connectionId: string): Promise<void> {
  const owner = { clientId, connectionId };
  const will = await deps.sessions.heldWill(owner);
  if (will === undefined) return;
  await deps.publishWill(will, clientId);
  await withRetry(SETTLE_RETRY, () => true, () => deps.sessions.settleWill(owner));
  deps.log.info('held will of a taken-over connection published', { connectionId, clientId });
}
