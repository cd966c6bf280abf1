/**
 * The one disconnect path, shared by `$disconnect` and the sweeper (which runs it for the
 * `$disconnect` events that never arrive). Idempotent: running it twice for a connection is safe.
 */
import type { ConnectionRecord } from '../store/ports';
import type { RuntimeDeps } from './handlers';
import { subscriptionTtl } from './pubsub';

export type DisconnectCause = 'client-closed' | 'gone' | 'keep-alive-expired' | 'connect-timeout' | 'expired';

export async function runDisconnectPath(
  deps: RuntimeDeps,
  connectionId: string,
  cause: DisconnectCause,
): Promise<ConnectionRecord | undefined> {
  const removed = await deps.connections.remove(connectionId);
  deps.log.info('disconnected', { connectionId, clientId: removed?.clientId, cause });
  if (removed?.clientId === undefined || removed.status !== 'mqtt') return removed;
  // Release the session if this connection still owns it (a stale release after a takeover is a
  // no-op), and take its will: published now, or deferred by its Will Delay to the sweeper.
  const released = await deps.sessions.release({ clientId: removed.clientId, connectionId, now: deps.now() });
  if (released.outcome !== 'released') return removed;
  if (released.sessionEnded) {
    // The session is over: its subscriptions and message state go with it.
    await deps.subscriptions.deleteAll(removed.clientId);
    await deps.messages.deleteAll(removed.clientId);
  } else {
    // Offline: subscriptions stop pointing at this connection; QoS 1/2 copies queue instead.
    const ttl = subscriptionTtl(deps, Math.floor(deps.now() / 1000), removed.sessionExpiryInterval ?? 0);
    await deps.subscriptions.attach(removed.clientId, removed.sessionEpoch ?? '', null, ttl);
  }
  if (released.will.action === 'publish') await deps.publishWill(released.will.will, removed.clientId);
  return removed;
}
