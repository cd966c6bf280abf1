/**
 * The authenticator over the auth table: decides who a CONNECT is and which rules apply to it
 * (lib/broker/state.ts AuthVerdict). In order:
 * 1. A principal established at `$connect` (the REQUEST authorizer verified a token): accepted;
 *    the CONNECT's username and password are ignored. Its principal is `token:NAME`; a token
 *    naming a password user is not authorized.
 * 2. A password that looks like a JWT (three base64url segments), when a token verifier is
 *    configured: the token decides. A refused token is bad credentials, never a fallback.
 * 3. A username and a password: the stored user's scrypt hash decides. An unknown user, or one
 *    without a password (token-only), spends the same scrypt work (dummyVerify), so the reply
 *    does not tell which names exist.
 * 4. A username without a password: bad credentials, or anonymous when anonymous access is on.
 *    A password without a username (v5) that is not a verified token: bad credentials.
 * 5. Neither: anonymous when anonymous access is on, else Not authorized.
 *
 * An authenticated principal's access is deny-by-default: its own rules, a token's rules and the
 * rules of its groups (those of the token and those stored for the user). An anonymous client's
 * access is allow-by-default, restricted by the rules of the built-in group `anonymous`.
 *
 * Neither the password nor the token is ever logged. A store error, or a verifier's exception (a
 * misconfiguration, lib/auth/types.ts TokenVerifier), propagates to the runtime.
 */
import type { AuthVerdict } from '../broker/state';
import type { ConnectPacket } from '../mqtt/types';
import type { Logger } from '../log';
import type { AuthStore } from '../store/auth-port';
import { looksLikeJwt } from './jwt';
import { dummyVerify, verifyPassword } from './password';
import { ANONYMOUS_GROUP, tokenPrincipalId, type AclRule, type PreAuthenticated, type TokenVerifier } from './types';

/** What the runtime knows about a connection beyond its CONNECT packet. */
export interface AuthContext {
  /** The principal the `$connect` authorizer established, if it verified a token. */
  readonly preAuth?: PreAuthenticated;
}

export interface AuthenticatorOptions {
  readonly store: AuthStore;
  /** Whether clients without credentials are let in (as anonymous). */
  readonly allowAnonymous: boolean;
  /** Verifies a JWT sent as the CONNECT password; absent: such a password is a plain password. */
  readonly verifyToken?: TokenVerifier;
  readonly log?: Logger;
}

export type StoreAuthenticator = (connect: ConnectPacket, context?: AuthContext) => Promise<AuthVerdict>;

const BAD_CREDENTIALS: AuthVerdict = { ok: false, reason: 'bad-credentials' };
const NOT_AUTHORIZED: AuthVerdict = { ok: false, reason: 'not-authorized' };

export function createAuthenticator(options: AuthenticatorOptions): StoreAuthenticator {
  const { store, allowAnonymous, verifyToken, log } = options;

  /**
   * Accepts a verified token principal: its rules, its stored user's, and all their groups'. Token
   * users and password users are two namespaces (docs/SECURITY.md): the token's principal is
   * `token:NAME`, so it never owns a password user's session, and a token naming a password user
   * is refused outright, since `%u` would give it that user's topics.
   */
  const tokenPrincipal = async (principal: PreAuthenticated): Promise<AuthVerdict> => {
    const stored = await store.getUser(principal.username);
    if (stored !== undefined && stored.record.passwordHash !== null) {
      log?.info('auth refused', { username: principal.username, why: 'a token names a password user' });
      return NOT_AUTHORIZED;
    }
    const groups = [...principal.groups, ...(stored?.record.groups ?? [])];
    const rules = [...principal.rules, ...(stored?.rules ?? []), ...(await rulesOfGroups(store, groups))];
    return {
      ok: true,
      principal: tokenPrincipalId(principal.username),
      username: principal.username,
      access: { defaultEffect: 'deny', rules },
    };
  };

  const anonymous = async (): Promise<AuthVerdict> => {
    if (!allowAnonymous) return NOT_AUTHORIZED;
    return { ok: true, access: { defaultEffect: 'allow', rules: await rulesOfGroups(store, [ANONYMOUS_GROUP]) } };
  };

  const passwordUser = async (username: string, password: Uint8Array): Promise<AuthVerdict> => {
    const user = await store.getUser(username);
    const hash = user?.record.passwordHash;
    if (user === undefined || hash === null || hash === undefined) {
      await dummyVerify(password);
      log?.info('auth refused', { username, why: user === undefined ? 'unknown user' : 'no password set' });
      return BAD_CREDENTIALS;
    }
    if (!(await verifyPassword(password, hash))) {
      log?.info('auth refused', { username, why: 'wrong password' });
      return BAD_CREDENTIALS;
    }
    const rules = [...user.rules, ...(await rulesOfGroups(store, user.record.groups))];
    return { ok: true, principal: username, access: { defaultEffect: 'deny', rules } };
  };

  return async (connect, context) => {
    if (context?.preAuth !== undefined) return tokenPrincipal(context.preAuth);
    const { username, password } = connect;
    const token = verifyToken === undefined || password === undefined ? undefined : asToken(password);
    if (token !== undefined && verifyToken !== undefined) {
      const verdict = await verifyToken(token);
      if (verdict.ok) return tokenPrincipal(verdict);
      log?.info('auth refused', { username, why: `token ${verdict.reason}` });
      return BAD_CREDENTIALS;
    }
    if (username !== undefined && password !== undefined) return passwordUser(username, password);
    if (password !== undefined) {
      log?.info('auth refused', { why: 'password without a username' });
      return BAD_CREDENTIALS;
    }
    if (username !== undefined && !allowAnonymous) {
      log?.info('auth refused', { username, why: 'username without a password' });
      return BAD_CREDENTIALS;
    }
    return anonymous();
  };
}

/** The password as a token if it has the shape of a JWS compact serialization, else undefined. */
function asToken(password: Uint8Array): string | undefined {
  if (password.byteLength < 5 || password.byteLength > 16 * 1024) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(password);
  } catch {
    return undefined;
  }
  return looksLikeJwt(text) ? text : undefined;
}

/** The rules of every named group that exists, fetched in parallel (one Query each). */
async function rulesOfGroups(store: AuthStore, names: readonly string[]): Promise<AclRule[]> {
  if (names.length === 0) return [];
  const byGroup = await store.groupRules([...new Set(names)]);
  return [...byGroup.values()].flat();
}
