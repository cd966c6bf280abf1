/**
 * The REQUEST authorizer of `$connect`, run as API Gateway runs it: the event built from the
 * upgrade request, the IAM evaluation of the returned policy, and what reaches `$connect`.
 *
 * - Allow: `$connect` receives `principalId`, the context keys and `integrationLatency` in
 *   `requestContext.authorizer`.
 * - Deny, or no Allow that matches the route: 403.
 * - A thrown Error whose message is `Unauthorized`: 401.
 * - Anything else (a failure, a malformed result): 500, logged.
 *
 * The deployed authorizer (lib/auth/authorizer.ts) needs none of this: on AWS, API Gateway does it.
 */
import type { AuthorizerEvent, AuthorizerResult, ConnectAuthorizer, ConnectEvent, PolicyStatement } from '../gateway/events';
import { parseAuthorizerResult } from '../gateway/events';
import type { Logger } from '../log';
import { errorFields, type LocalAuthorizer } from './options';

/** What the authorizer decided: the refusal's HTTP status, or the event `$connect` receives. */
export type AuthorizerVerdict = { readonly status: 401 | 403 | 500 } | { readonly event: ConnectEvent };

/** Where the authorizer runs: the `methodArn` of `$connect` on this API. */
export interface AuthorizedApi {
  readonly apiId: string;
  readonly stage: string;
}

/** Runs the optional authorizer for a `$connect` request; without one, `$connect` gets no `authorizer`. */
export async function authorizeConnect(
  authorizer: LocalAuthorizer | undefined,
  event: ConnectEvent,
  api: AuthorizedApi,
  log: Logger,
): Promise<AuthorizerVerdict> {
  if (authorizer === undefined) return { event };
  const methodArn = `arn:aws:execute-api:local:000000000000:${api.apiId}/${api.stage}/$connect`;
  const started = Date.now();
  try {
    const result = parseAuthorizerResult(await authorizer(authorizerEventOf(event, methodArn)));
    if (!policyAllows(result, methodArn)) return { status: 403 };
    const allowed: ConnectAuthorizer = { ...result.context, principalId: result.principalId, integrationLatency: Date.now() - started };
    return { event: { ...event, requestContext: { ...event.requestContext, authorizer: allowed } } };
  } catch (error) {
    if (error instanceof Error && error.message === 'Unauthorized') return { status: 401 };
    log.error('authorizer failed', { connectionId: event.requestContext.connectionId, ...errorFields(error) });
    return { status: 500 };
  }
}

/** The authorizer event API Gateway builds from a `$connect` request. */
export function authorizerEventOf(event: ConnectEvent, methodArn: string): AuthorizerEvent {
  const { authorizer: _authorizer, ...requestContext } = event.requestContext;
  return {
    type: 'REQUEST',
    methodArn,
    headers: event.headers,
    multiValueHeaders: event.multiValueHeaders,
    queryStringParameters: event.queryStringParameters,
    multiValueQueryStringParameters: event.multiValueQueryStringParameters,
    requestContext,
  };
}

/** IAM evaluation of the returned policy for `$connect`: an explicit Deny wins, then an Allow is needed. */
export function policyAllows(result: AuthorizerResult, methodArn: string): boolean {
  const applicable = result.policyDocument.Statement.filter((s) => statementApplies(s, methodArn));
  return !applicable.some((s) => s.Effect === 'Deny') && applicable.some((s) => s.Effect === 'Allow');
}

function statementApplies(statement: PolicyStatement, methodArn: string): boolean {
  const actions = [statement.Action].flat();
  const resources = [statement.Resource].flat();
  return (
    // Action names are case-insensitive in IAM; ARNs are not.
    actions.some((a) => wildcardMatches(a, 'execute-api:Invoke', 'i')) && resources.some((r) => wildcardMatches(r, methodArn))
  );
}

/** IAM's `*` / `?` wildcards in a policy's Action or Resource. */
function wildcardMatches(pattern: string, value: string, flags = ''): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, flags).test(value);
}
