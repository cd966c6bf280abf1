/**
 * JWT verification with `jose`: a token given as the CONNECT password, or as `?token=` /
 * `Authorization: Bearer` on `$connect` (lib/auth/authorizer.ts).
 *
 * - Keys: a remote JWKS (`jwksUrl`, fetched on first use and cached by this verifier instance, so
 *   a warm Lambda does not refetch; jose refetches on an unknown `kid` at most every 30 s and
 *   after 10 minutes), or inline public keys (`jwks`).
 * - Algorithms: asymmetric only. HS* would make the verification key a shared secret, and `none`
 *   is no signature at all; neither can be configured.
 * - Checks: signature, `iss`, `aud`, `exp` (required) and `nbf`, with a clock tolerance.
 * - Claims → principal: the username from `usernameClaim` (default `sub`), groups from
 *   `stratus:groups`, allow rules from `stratus:acl` = `{ publish?: [...], subscribe?: [...] }`.
 *
 * A bad token is a verdict, never an exception. Only a broken configuration throws: an unreachable
 * or invalid JWKS (JwtConfigError). Tokens are never logged or put in an error.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import * as z from '../zod-mini';
import { validateAclRule } from './acl';
import type { AclAction, AclRule, PreAuthenticated, TokenVerdict, TokenVerifier } from './types';

/** Asymmetric JWS algorithms: the only ones a verifier accepts. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Claim names Stratus reads besides the username claim. */
export const GROUPS_CLAIM = 'stratus:groups';
export const ACL_CLAIM = 'stratus:acl';

/** Bounds that keep a principal small (it travels in the authorizer context, at most 8 KB). */
export const MAX_TOKEN_LENGTH = 16_384;
export const MAX_USERNAME_LENGTH = 256;
export const MAX_GROUPS = 32;
export const MAX_PATTERNS_PER_ACTION = 32;

export interface JwtOptions {
  /** Expected `iss`. */
  readonly issuer: string;
  /** Expected `aud` (one of the token's audiences). */
  readonly audience: string;
  /** JWKS endpoint; https (http only on 127.0.0.1 / localhost). Exactly one of jwksUrl and jwks. */
  readonly jwksUrl?: string;
  /** Inline public keys. Exactly one of jwksUrl and jwks. */
  readonly jwks?: JSONWebKeySet;
  /** Claim holding the username. @default 'sub' */
  readonly usernameClaim?: string;
  /** Accepted algorithms, asymmetric only. @default ASYMMETRIC_ALGORITHMS */
  readonly algorithms?: readonly string[];
  /** Allowed clock skew for exp/nbf, seconds. @default 30 */
  readonly clockToleranceSeconds?: number;
}

/** A verifier that cannot work as configured (bad options, unreachable or invalid JWKS). */
export class JwtConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwtConfigError';
  }
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function isAllowedJwksUrl(text: string): boolean {
  const url = new URL(text);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname));
}

/** A public key: RSA, EC or OKP, without private parts. Symmetric ('oct') keys are refused. */
const publicJwkSchema = z.looseObject({ kty: z.enum(['RSA', 'EC', 'OKP']), alg: z.optional(z.string()) }).check(
  z.refine((key) => !('d' in key), 'private keys do not belong in a JWKS'),
  z.refine((key) => key.alg === undefined || (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(key.alg), 'alg must be asymmetric'),
);

const nonEmpty = () => z.string().check(z.minLength(1));

export const jwtOptionsSchema = z
  .object({
    issuer: nonEmpty(),
    audience: nonEmpty(),
    jwksUrl: z.optional(z.url().check(z.refine(isAllowedJwksUrl, 'must be https (http only on 127.0.0.1 or localhost)'))),
    jwks: z.optional(z.object({ keys: z.array(publicJwkSchema).check(z.minLength(1)) })),
    usernameClaim: z._default(nonEmpty(), 'sub'),
    algorithms: z._default(z.array(z.enum(ASYMMETRIC_ALGORITHMS)).check(z.minLength(1)), () => [...ASYMMETRIC_ALGORITHMS]),
    clockToleranceSeconds: z._default(z.integer(0, 300), 30),
  })
  .check(
    z.refine((o) => (o.jwksUrl === undefined) !== (o.jwks === undefined), {
      message: 'exactly one of jwksUrl and jwks is required',
      path: ['jwksUrl'],
    }),
  );

export type JwtConfig = z.output<typeof jwtOptionsSchema>;

/** Validates the options; throws JwtConfigError with one line naming the option. */
export function parseJwtOptions(options: JwtOptions): JwtConfig {
  const parsed = jwtOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new JwtConfigError(`invalid JWT options: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { cause: parsed.error });
}

const JWT_SHAPE = /^ey[A-Za-z0-9_-]+\.ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whether a string has the shape of a compact JWS carrying JSON (three base64url segments, the
 * first two starting with `ey`, i.e. `{"`), so a CONNECT password can be told from a token.
 */
export function looksLikeJwt(s: string): boolean {
  return s.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(s);
}

/** A username from a token: it may be substituted into `%u` patterns, so no topic wildcards or separators. */
export const usernameSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(MAX_USERNAME_LENGTH),
    z.refine((name) => !/[/+#\u0000]/.test(name), 'must not contain / + # or U+0000'),
  );
export const groupsSchema = z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.maxLength(MAX_GROUPS));
const patternsSchema = (action: AclAction) =>
  z
    .array(
      z.string().check(
        z.minLength(1),
        z.superRefine((p, ctx) => {
          const violation = validateAclRule({ id: 'claim', effect: 'allow', actions: [action], pattern: p });
          if (violation) ctx.addIssue({ code: 'custom', message: violation });
        }),
      ),
    )
    .check(z.maxLength(MAX_PATTERNS_PER_ACTION));

/** The `stratus:acl` claim: allowed topic patterns per action. */
export const aclClaimSchema = z.strictObject({
  publish: z.optional(patternsSchema('publish')),
  subscribe: z.optional(patternsSchema('subscribe')),
});
export type AclClaim = z.output<typeof aclClaimSchema>;

/** `stratus:acl` → allow rules with stable ids (`jwt-pub-0`, `jwt-sub-0`, ...). */
export function rulesFromAclClaim(acl: AclClaim | undefined): AclRule[] {
  const rules: AclRule[] = [];
  (acl?.publish ?? []).forEach((pattern, i) => rules.push({ id: `jwt-pub-${i}`, effect: 'allow', actions: ['publish'], pattern }));
  (acl?.subscribe ?? []).forEach((pattern, i) => rules.push({ id: `jwt-sub-${i}`, effect: 'allow', actions: ['subscribe'], pattern }));
  return rules;
}

/** Verified claims → the principal, or undefined when a Stratus claim is missing or invalid. */
export function principalFromClaims(payload: JWTPayload, usernameClaim: string): PreAuthenticated | undefined {
  const username = usernameSchema.safeParse(payload[usernameClaim]);
  const groups = z.optional(groupsSchema).safeParse(payload[GROUPS_CLAIM]);
  const acl = z.optional(aclClaimSchema).safeParse(payload[ACL_CLAIM]);
  if (!username.success || !groups.success || !acl.success) return undefined;
  return { username: username.data, groups: [...new Set(groups.data ?? [])].sort(), rules: rulesFromAclClaim(acl.data) };
}

type FailureReason = Extract<TokenVerdict, { ok: false }>['reason'];

const SIGNATURE_CODES = new Set([
  errors.JWSSignatureVerificationFailed.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
]);
const MALFORMED_CODES = new Set([errors.JWSInvalid.code, errors.JWTInvalid.code]);

/** A jose failure → the verdict's reason; anything else (JWKS unreachable or invalid) rethrown. */
function failureReason(error: unknown): FailureReason {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'issuer';
    if (error.claim === 'aud') return 'audience';
    return 'claims';
  }
  if (error instanceof errors.JOSEError && SIGNATURE_CODES.has(error.code)) return 'signature';
  if (error instanceof errors.JOSEError && MALFORMED_CODES.has(error.code)) return 'malformed';
  throw new JwtConfigError(`JWT keys unavailable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

function keySet(config: JwtConfig): JWTVerifyGetKey {
  if (config.jwksUrl !== undefined) return createRemoteJWKSet(new URL(config.jwksUrl));
  return createLocalJWKSet(config.jwks as JSONWebKeySet);
}

/**
 * A verifier for one issuer and audience. Its key set lives as long as the verifier: create it
 * once per process (Lambda module scope), not per token.
 */
export function createJwtVerifier(options: JwtOptions): TokenVerifier {
  const config = parseJwtOptions(options);
  const keys = keySet(config);
  const verifyOptions: JWTVerifyOptions = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms,
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ['exp'],
  };
  return async (token) => {
    if (!looksLikeJwt(token)) return { ok: false, reason: 'malformed' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, verifyOptions));
    } catch (error) {
      return { ok: false, reason: failureReason(error) };
    }
    const principal = principalFromClaims(payload, config.usernameClaim);
    return principal === undefined ? { ok: false, reason: 'claims' } : { ok: true, ...principal };
  };
}

/**
 * JWT settings from the environment, shared by the authorizer and the `$connect` / `$default`
 * functions. None set: undefined (no token authentication). Partly set or invalid: JwtConfigError
 * naming the variable.
 *
 * | variable | meaning |
 * |---|---|
 * | STRATUS_JWT_ISSUER | expected `iss` |
 * | STRATUS_JWT_AUDIENCE | expected `aud` |
 * | STRATUS_JWT_JWKS_URL | JWKS endpoint (https) |
 * | STRATUS_JWT_JWKS | inline JWKS JSON, instead of the URL |
 * | STRATUS_JWT_USERNAME_CLAIM | claim holding the username (default `sub`) |
 */
export function jwtOptionsFromEnv(env: Record<string, string | undefined> = process.env): JwtOptions | undefined {
  const read = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const issuer = read('STRATUS_JWT_ISSUER');
  const audience = read('STRATUS_JWT_AUDIENCE');
  const jwksUrl = read('STRATUS_JWT_JWKS_URL');
  const jwksText = read('STRATUS_JWT_JWKS');
  const usernameClaim = read('STRATUS_JWT_USERNAME_CLAIM');
  if ([issuer, audience, jwksUrl, jwksText, usernameClaim].every((v) => v === undefined)) return undefined;
  const invalid = (name: string, message: string) => new JwtConfigError(`invalid environment: ${name}: ${message}`);
  if (issuer === undefined) throw invalid('STRATUS_JWT_ISSUER', 'required when token authentication is configured');
  if (audience === undefined) throw invalid('STRATUS_JWT_AUDIENCE', 'required when token authentication is configured');
  let jwks: JSONWebKeySet | undefined;
  if (jwksText !== undefined) {
    try {
      jwks = JSON.parse(jwksText) as JSONWebKeySet;
    } catch {
      throw invalid('STRATUS_JWT_JWKS', 'not JSON');
    }
  }
  const options: JwtOptions = { issuer, audience, jwksUrl, jwks, usernameClaim };
  const parsed = jwtOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = ENV_NAMES[String(issue?.path[0])] ?? 'STRATUS_JWT_*';
    throw invalid(name, issue?.message ?? 'invalid');
  }
  return options;
}

const ENV_NAMES: Record<string, string> = {
  issuer: 'STRATUS_JWT_ISSUER',
  audience: 'STRATUS_JWT_AUDIENCE',
  jwksUrl: 'STRATUS_JWT_JWKS_URL',
  jwks: 'STRATUS_JWT_JWKS',
  usernameClaim: 'STRATUS_JWT_USERNAME_CLAIM',
};
