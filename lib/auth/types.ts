/**
 * Access control types shared by the authenticators, the ACL engine, the auth store, the core and
 * the admin CLI. Plain data only: the core (lib/broker) imports these, and it has no I/O.
 *
 * The model (docs/SECURITY.md):
 * - A principal is a user (password in the auth table, or a verified JWT) or anonymous.
 * - Rules allow or deny publish and/or subscribe on a topic pattern (an MQTT topic filter in which
 *   `%u` stands for the username and `%c` for the client id). They belong to a user or a group.
 * - Deny beats allow. An authenticated principal is denied what no rule allows. An anonymous
 *   client (only when anonymous access is on) is allowed what no rule denies; the rules of the
 *   built-in group `anonymous` apply to it.
 */

export type AclAction = 'publish' | 'subscribe';
export type AclEffect = 'allow' | 'deny';

/** One stored rule, as written by `stratus acl add`. */
export interface AclRule {
  /** Stable id within its owner (user or group), e.g. a short random string. */
  readonly id: string;
  readonly effect: AclEffect;
  /** Non-empty; no duplicates. */
  readonly actions: readonly AclAction[];
  /**
   * A topic filter, possibly with `%u` / `%c` placeholders; or a share rule
   * `$share/{group}/{filter}` (subscribe only), whose group is a name, `%u`, `%c` or `+`.
   */
  readonly pattern: string;
}

export type PrincipalKind = 'user' | 'group';

/** Who a rule belongs to. */
export interface RuleOwner {
  readonly kind: PrincipalKind;
  readonly name: string;
}

export interface UserRecord {
  readonly name: string;
  /** `scrypt$N$r$p$salt$hash` (base64 salt and hash; see lib/auth/password.ts); null: token-only user. */
  readonly passwordHash: string | null;
  /** Group names, sorted, no duplicates. */
  readonly groups: readonly string[];
  /** Epoch ms */
  readonly createdAt: number;
}

export interface GroupRecord {
  readonly name: string;
  readonly description?: string;
  /** Epoch ms */
  readonly createdAt: number;
}

/**
 * The principal of a token user: `token:NAME`. Token users and password users are two namespaces,
 * so a token whose username claim equals a password user's name owns none of its sessions. The
 * `%u` placeholder stands for NAME alone.
 */
export function tokenPrincipalId(username: string): string {
  return `token:${username}`;
}

/** The built-in group whose rules apply to anonymous clients. */
export const ANONYMOUS_GROUP = 'anonymous';

/**
 * A connection's access rules after `%u` / `%c` substitution: computed once at CONNECT, stored
 * with the connection record, read back with it on every message (no extra round trip).
 */
export interface ConnectionAcl {
  /** What applies when no rule matches: 'deny' for authenticated principals, 'allow' for anonymous. */
  readonly defaultEffect: AclEffect;
  readonly rules: readonly CompiledRule[];
}

export interface CompiledRule {
  readonly effect: AclEffect;
  readonly publish: boolean;
  readonly subscribe: boolean;
  /** A valid topic filter, placeholders substituted. */
  readonly filter: string;
  /**
   * A share rule (pattern `$share/{group}/{filter}`, subscribe only): the group it governs,
   * substituted, or `+` for every group. Absent: a plain rule.
   */
  readonly share?: string;
}

/**
 * What an authenticator found out about a principal's access: its rules before substitution
 * (its own, its groups', and a token's), and the default. The core compiles them into a
 * ConnectionAcl once the client id is final (an assigned id is known only then).
 */
export interface PrincipalAccess {
  readonly defaultEffect: AclEffect;
  readonly rules: readonly AclRule[];
}

/** A principal established at `$connect` by the REQUEST authorizer (a token in the URL or a header). */
export interface PreAuthenticated {
  readonly username: string;
  readonly groups: readonly string[];
  /** Allow rules from the token's claims (lib/auth/jwt.ts). */
  readonly rules: readonly AclRule[];
}

/** The verdict on a JWT. */
export type TokenVerdict =
  | ({ readonly ok: true } & PreAuthenticated)
  | { readonly ok: false; readonly reason: 'expired' | 'audience' | 'issuer' | 'signature' | 'malformed' | 'claims' };

/** Verifies a JWT (lib/auth/jwt.ts); never throws for a bad token, only for a misconfiguration. */
export type TokenVerifier = (token: string) => Promise<TokenVerdict>;
