/**
 * The authentication port the runtime consults before the core decides a CONNECT. The core has
 * no await, so the runtime produces the verdict and passes it in (lib/broker/state.ts AuthVerdict).
 */
import type { AuthContext } from '../auth/authenticator';
import type { AuthVerdict } from '../broker';
import type { ConnectPacket } from '../mqtt/types';

export type { AuthContext } from '../auth/authenticator';

/**
 * Decides a CONNECT. `context` carries what the runtime knows besides the packet, e.g. the
 * principal the `$connect` authorizer established (lib/auth/authenticator.ts createAuthenticator).
 */
export type Authenticator = (connect: ConnectPacket, context?: AuthContext) => Promise<AuthVerdict>;

/**
 * The authenticator while no credential store is configured. It vouches for nobody: a client
 * that sends a user name is not thereby authenticated. With anonymous access allowed every client
 * is let in as anonymous; without it every client is refused (Not authorized), which is the
 * secure default of a deployed broker.
 */
export function noCredentialStore(allowAnonymous: boolean): Authenticator {
  const verdict: AuthVerdict = allowAnonymous ? { ok: true } : { ok: false, reason: 'not-authorized' };
  return async () => verdict;
}
