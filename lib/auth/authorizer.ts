/**
 * The Lambda REQUEST authorizer of the `$connect` route: it verifies a token from the upgrade
 * request and hands the principal to the `$connect` integration. Local mode runs the same code
 * through the local gateway's `authorizer` option.
 *
 * API Gateway facts this relies on (developer guide, "Control access to WebSocket APIs with AWS
 * Lambda REQUEST authorizers", "Output from an API Gateway Lambda authorizer", the WebSocket
 * quotas table, and the ApiGatewayV2 `IdentitySource` reference):
 * - A Lambda authorizer can only be attached to `$connect`. Its event carries `type: 'REQUEST'`,
 *   `methodArn` (`arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`), the headers
 *   with the case the client sent, the query string, and the `$connect` request context.
 * - Identity sources are optional for WebSocket REQUEST authorizers. When some are configured,
 *   ALL of them must be present and non-empty, or API Gateway answers 401 without invoking the
 *   function. A token may come in a header OR the query string, and a client with no token must
 *   still reach the CONNECT packet (username/password, or anonymous), so Stratus configures none:
 *   the authorizer runs on every `$connect`. The cost is one short invocation per connection
 *   (no DynamoDB, no network once the JWKS is cached). Authorizer result caching is not available
 *   for WebSocket APIs, and it would need identity sources anyway.
 * - Result: `principalId`, an IAM policy on `execute-api:Invoke`, and a `context` whose values
 *   must be strings, numbers or booleans (an object or array is an authorizer configuration error,
 *   a 500). The whole result is at most 8 KB for WebSocket APIs (not raisable).
 * - An Allow lets the `$connect` integration run; it receives `principalId` and the context keys in
 *   `requestContext.authorizer`. A Deny refuses the upgrade with 403. Throwing `Unauthorized`
 *   gives 401; any other failure gives 500.
 * - The WebSocket URL is at most 4096 characters, which bounds a token sent in the query string.
 *
 * A bad token gets a Deny (403), not a thrown `Unauthorized` (401): either way the client cannot
 * connect, and a Deny does not count as a Lambda error, so the function's error alarm keeps
 * meaning "misconfigured" (JWKS unreachable, bad environment). Tokens are never logged.
 */
import * as z from '../zod-mini';
import { headerValue, parseAuthorizerEvent, type AuthorizerEvent, type AuthorizerResult } from '../gateway/events';
import { createLogger, type Logger } from '../log';
import { aclClaimSchema, createJwtVerifier, groupsSchema, JwtConfigError, jwtOptionsFromEnv, rulesFromAclClaim, usernameSchema } from './jwt';
import type { AclClaim } from './jwt';
import type { PreAuthenticated, TokenVerdict, TokenVerifier } from './types';

/** API Gateway's limit on a WebSocket authorizer's result. */
export const AUTHORIZER_RESULT_LIMIT_BYTES = 8 * 1024;
/** `wss://…/mqtt?token=…` */
export const TOKEN_QUERY_PARAMETER = 'token';
/** principalId of a request that carried no token (the CONNECT packet authenticates it later). */
export const NO_TOKEN_PRINCIPAL = 'stratus:no-token';
const DENIED_PRINCIPAL = 'stratus:denied';

export interface AuthorizerDeps {
  readonly verify: TokenVerifier;
  readonly log: Logger;
}

export type AuthorizerHandler = (event: unknown) => Promise<AuthorizerResult>;

/**
 * The token of a `$connect` request: `Authorization: Bearer …` (header names are matched
 * case-insensitively: API Gateway keeps the client's case), else `?token=…`. Another
 * Authorization scheme, or an empty value, is no token.
 */
export function tokenOf(event: Pick<AuthorizerEvent, 'headers' | 'multiValueHeaders' | 'queryStringParameters'>): string | undefined {
  const header = headerValue(event, 'authorization')?.trim();
  const bearer = header === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer !== undefined) return bearer;
  const query = event.queryStringParameters?.[TOKEN_QUERY_PARAMETER];
  return query === undefined || query === '' ? undefined : query;
}

function policy(principalId: string, effect: 'Allow' | 'Deny', methodArn: string, context?: Record<string, string>): AuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: methodArn }] },
    ...(context ? { context } : {}),
  };
}

/** The context keys the `$connect` integration reads back (scalars only: JSON in strings). */
function contextOf(principal: PreAuthenticated): Record<string, string> {
  const acl: AclClaim = {
    publish: principal.rules.filter((r) => r.actions.includes('publish')).map((r) => r.pattern),
    subscribe: principal.rules.filter((r) => r.actions.includes('subscribe')).map((r) => r.pattern),
  };
  return { auth: 'jwt', username: principal.username, groups: JSON.stringify(principal.groups), acl: JSON.stringify(acl) };
}

function principalOf(verdict: Extract<TokenVerdict, { ok: true }>): PreAuthenticated {
  return { username: verdict.username, groups: verdict.groups, rules: verdict.rules };
}

/** The authorizer: Allow without a token, Allow with a valid one, Deny otherwise. */
export function createAuthorizer(deps: AuthorizerDeps): AuthorizerHandler {
  return async (raw) => {
    const event = parseAuthorizerEvent(raw);
    const { methodArn } = event;
    const connectionId = event.requestContext.connectionId;
    const token = tokenOf(event);
    if (token === undefined) return policy(NO_TOKEN_PRINCIPAL, 'Allow', methodArn, { auth: 'none' });
    const verdict = await deps.verify(token);
    if (!verdict.ok) {
      deps.log.info('token refused', { connectionId, reason: verdict.reason });
      return policy(DENIED_PRINCIPAL, 'Deny', methodArn);
    }
    const result = policy(verdict.username, 'Allow', methodArn, contextOf(principalOf(verdict)));
    const bytes = Buffer.byteLength(JSON.stringify(result));
    if (bytes > AUTHORIZER_RESULT_LIMIT_BYTES) {
      deps.log.warn('token refused: its principal exceeds the authorizer result limit', { connectionId, username: verdict.username, bytes });
      return policy(DENIED_PRINCIPAL, 'Deny', methodArn);
    }
    deps.log.info('token accepted', { connectionId, username: verdict.username });
    return result;
  };
}

/** A JSON document in a string (the authorizer context holds scalars only). */
const jsonString = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'not JSON', input: text });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );

const tokenContextSchema = z.looseObject({
  auth: z.literal('jwt'),
  username: usernameSchema,
  groups: jsonString(groupsSchema),
  acl: jsonString(aclClaimSchema),
});

/** The authorizer context the `$connect` integration received is not one this authorizer wrote. */
export class AuthorizerContextError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthorizerContextError';
  }
}

/**
 * `event.requestContext.authorizer` of a `$connect` event → the principal the token established.
 * Undefined when there was no authorizer (local mode without one) or no token (`auth: 'none'`).
 * Throws AuthorizerContextError when it claims a token but does not hold a valid principal.
 */
export function preAuthFromAuthorizerContext(requestContextAuthorizer: unknown): PreAuthenticated | undefined {
  if (typeof requestContextAuthorizer !== 'object' || requestContextAuthorizer === null) return undefined;
  if ((requestContextAuthorizer as { auth?: unknown }).auth !== 'jwt') return undefined;
  const parsed = tokenContextSchema.safeParse(requestContextAuthorizer);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AuthorizerContextError(`invalid authorizer context: ${issue?.path.join('.')}: ${issue?.message}`, { cause: parsed.error });
  }
  const { username, groups, acl } = parsed.data;
  return { username, groups, rules: rulesFromAclClaim(acl) };
}

const logLevelSchema = z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info');

/**
 * The authorizer as Lambda runs it: the JWT settings and log level are read and validated once,
 * at cold start (one JwtConfigError naming the variable), and the verifier, with its cached key
 * set, lives as long as the container.
 */
export function lambdaAuthorizer(env: Record<string, string | undefined> = process.env): AuthorizerHandler {
  const options = jwtOptionsFromEnv(env);
  if (options === undefined) throw new JwtConfigError('invalid environment: STRATUS_JWT_ISSUER: required by the authorizer');
  const level = logLevelSchema.safeParse(env.STRATUS_LOG_LEVEL === '' ? undefined : env.STRATUS_LOG_LEVEL);
  if (!level.success) throw new JwtConfigError('invalid environment: STRATUS_LOG_LEVEL: must be debug, info, warn or error');
  const log = createLogger({ level: level.data }).child({ fn: 'authorizer' });
  return createAuthorizer({ verify: createJwtVerifier(options), log });
}
