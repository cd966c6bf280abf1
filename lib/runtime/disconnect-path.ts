/**
 * The one disconnect path, shared by `$disconnect` and the sweeper (which runs it for the
 * `$disconnect` events that never arrive). Idempotent: running it twice for a connection is safe.
 */
import type { ConnectionRecord } from '../store/ports';
import type { RuntimeDeps } from './handlers';

export type DisconnectCause = 'client-closed' | 'gone' | 'keep-alive-expired' | 'connect-timeout' | 'expired';

export async function runDisconnectPath(
  deps: RuntimeDeps,
  connectionId: string,
  cause: DisconnectCause,
): Promise<ConnectionRecord | undefined> {
  const removed = await deps.connections.remove(connectionId);
  // Sessions and wills (Broker core I) hook in here: release the session, fire or defer the will.
  deps.log.info('disconnected', { connectionId, clientId: removed?.clientId, cause });
  return removed;
}
