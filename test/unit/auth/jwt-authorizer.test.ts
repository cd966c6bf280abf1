/** The `$connect` REQUEST authorizer (lib/auth/authorizer.ts) with a fake verifier. */
import { describe, expect, it } from 'vitest';
import {
  AUTHORIZER_RESULT_LIMIT_BYTES,
  AuthorizerContextError,
  createAuthorizer,
  lambdaAuthorizer,
  NO_TOKEN_PRINCIPAL,
  preAuthFromAuthorizerContext,
  tokenOf,
} from '../../../lib/auth/authorizer';
import { JwtConfigError } from '../../../lib/auth/jwt';
import type { PreAuthenticated, TokenVerdict } from '../../../lib/auth/types';
import { GatewayEventError } from '../../../lib/gateway/errors';
import { authorizerResultSchema } from '../../../lib/gateway/events';
import { createLogger } from '../../../lib/log';

const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/mqtt/$connect';

function authorizerEvent(extra: { headers?: Record<string, string>; query?: Record<string, string> } = {}) {
  return {
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    headers: { Host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'Sec-WebSocket-Protocol': 'mqtt', ...extra.headers },
    multiValueHeaders: {},
    queryStringParameters: extra.query,
    requestContext: {
      routeKey: '$connect',
      eventType: 'CONNECT',
      connectionId: 'L0SM9cOFvHcCIhw=',
      requestTimeEpoch: 1_700_000_000_123,
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      stage: 'mqtt',
      connectedAt: 1_700_000_000_000,
      apiId: 'abc123',
      identity: { sourceIp: '203.0.113.7' },
    },
  };
}

const ALICE: PreAuthenticated = {
  username: 'alice',
  groups: ['operators'],
  rules: [
    { id: 'jwt-pub-0', effect: 'allow', actions: ['publish'], pattern: 'plant/%u/#' },
    { id: 'jwt-sub-0', effect: 'allow', actions: ['subscribe'], pattern: 'plant/+/status' },
  ],
};

function harness(verdict: TokenVerdict) {
  const tokens: string[] = [];
  const lines: string[] = [];
  const authorize = createAuthorizer({
    verify: async (token) => (tokens.push(token), verdict),
    log: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
  });
  return { authorize, tokens, lines };
}

describe('tokenOf', () => {
  it.each([
    ['a Bearer header', { headers: { Authorization: 'Bearer aaa.bbb.ccc' } }, 'aaa.bbb.ccc'],
    ['any case of the header name and scheme', { headers: { AUTHORIZATION: 'bearer aaa.bbb.ccc' } }, 'aaa.bbb.ccc'],
    ['the query string', { query: { token: 'q.q.q' } }, 'q.q.q'],
    ['the header before the query string', { headers: { authorization: 'Bearer h.h.h' }, query: { token: 'q.q.q' } }, 'h.h.h'],
    ['another scheme, then the query', { headers: { Authorization: 'Basic dXNlcjpwYXNz' }, query: { token: 'q.q.q' } }, 'q.q.q'],
    ['another scheme only', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }, undefined],
    ['an empty query token', { query: { token: '' } }, undefined],
    ['nothing', {}, undefined],
  ])('reads %s', (_name, extra, expected) => {
    const event = authorizerEvent(extra);
    expect(tokenOf({ ...event, queryStringParameters: event.queryStringParameters ?? null })).toBe(expected);
  });
});

describe('createAuthorizer', () => {
  it('allows a valid token on exactly this route, with the principal in a scalar context', async () => {
    const { authorize, tokens, lines } = harness({ ok: true, ...ALICE });
    const result = await authorize(authorizerEvent({ query: { token: 'secret.token.value' } }));
    expect(tokens).toEqual(['secret.token.value']);
    expect(result).toEqual({
      principalId: 'alice',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }] },
      context: {
        auth: 'jwt',
        username: 'alice',
        groups: '["operators"]',
        acl: '{"publish":["plant/%u/#"],"subscribe":["plant/+/status"]}',
      },
    });
    expect(authorizerResultSchema.safeParse(result).success).toBe(true);
    expect(Object.values(result.context ?? {}).every((v) => typeof v === 'string')).toBe(true);
    expect(lines.join('\n')).not.toContain('secret.token.value');
  });

  it('round-trips the principal through what $connect receives', async () => {
    const { authorize } = harness({ ok: true, ...ALICE });
    const result = await authorize(authorizerEvent({ headers: { Authorization: 'Bearer x.y.z' } }));
    const received = { principalId: result.principalId, integrationLatency: 12, ...result.context };
    expect(preAuthFromAuthorizerContext(received)).toEqual(ALICE);
  });

  it('allows a request without a token, marked as having none, without calling the verifier', async () => {
    const { authorize, tokens } = harness({ ok: false, reason: 'malformed' });
    const result = await authorize(authorizerEvent());
    expect(result.principalId).toBe(NO_TOKEN_PRINCIPAL);
    expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }]);
    expect(result.context).toEqual({ auth: 'none' });
    expect(tokens).toEqual([]);
  });

  it.each(['expired', 'audience', 'issuer', 'signature', 'malformed', 'claims'] as const)(
    'denies a token refused as %s (403), logging the reason but not the token',
    async (reason) => {
      const { authorize, lines } = harness({ ok: false, reason });
      const result = await authorize(authorizerEvent({ query: { token: 'bad.token.here' } }));
      expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
      expect(result.context).toBeUndefined();
      expect(lines.some((l) => l.includes(`"reason":"${reason}"`))).toBe(true);
      expect(lines.join('\n')).not.toContain('bad.token.here');
    },
  );

  it('denies a principal too large for the 8 KB authorizer result', async () => {
    const rules = Array.from({ length: 200 }, (_, i) => ({
      id: `jwt-pub-${i}`,
      effect: 'allow' as const,
      actions: ['publish' as const],
      pattern: `plant/area-${i}/line/+/machine/+/telemetry/#`,
    }));
    const { authorize } = harness({ ok: true, username: 'big', groups: [], rules });
    const result = await authorize(authorizerEvent({ query: { token: 'a.b.c' } }));
    expect(JSON.stringify(rules).length).toBeGreaterThan(AUTHORIZER_RESULT_LIMIT_BYTES);
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
  });

  it('fails (a 500 on API Gateway) on a misconfiguration or an event that is not a REQUEST authorizer event', async () => {
    const failing = createAuthorizer({
      verify: async () => Promise.reject(new JwtConfigError('JWT keys unavailable')),
      log: createLogger({ write: () => undefined }),
    });
    await expect(failing(authorizerEvent({ query: { token: 'a.b.c' } }))).rejects.toBeInstanceOf(JwtConfigError);
    const { authorize } = harness({ ok: true, ...ALICE });
    await expect(authorize({ ...authorizerEvent(), type: 'TOKEN' })).rejects.toBeInstanceOf(GatewayEventError);
  });
});

describe('preAuthFromAuthorizerContext', () => {
  it.each([[undefined], [null], [{}], [{ principalId: NO_TOKEN_PRINCIPAL, auth: 'none' }], ['text']])('is undefined for %j', (raw) => {
    expect(preAuthFromAuthorizerContext(raw)).toBeUndefined();
  });

  it.each([
    ['a bad username', { auth: 'jwt', username: 'a/#', groups: '[]', acl: '{}' }],
    ['groups that are not JSON', { auth: 'jwt', username: 'a', groups: 'operators', acl: '{}' }],
    ['an invalid pattern', { auth: 'jwt', username: 'a', groups: '[]', acl: '{"publish":["a/#/b"]}' }],
    ['no acl', { auth: 'jwt', username: 'a', groups: '[]' }],
  ])('throws AuthorizerContextError for a token context with %s', (_name, raw) => {
    expect(() => preAuthFromAuthorizerContext(raw)).toThrow(AuthorizerContextError);
  });
});

describe('lambdaAuthorizer', () => {
  const jwtEnv = {
    STRATUS_JWT_ISSUER: 'https://issuer.example.com/',
    STRATUS_JWT_AUDIENCE: 'stratus',
    STRATUS_JWT_JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
  };

  it('validates its environment once, at cold start', () => {
    expect(() => lambdaAuthorizer({})).toThrow(/STRATUS_JWT_ISSUER/);
    expect(() => lambdaAuthorizer({ ...jwtEnv, STRATUS_JWT_JWKS_URL: 'http://issuer.example.com/jwks' })).toThrow(/STRATUS_JWT_JWKS_URL/);
    expect(() => lambdaAuthorizer({ ...jwtEnv, STRATUS_LOG_LEVEL: 'loud' })).toThrow(/STRATUS_LOG_LEVEL/);
    expect(typeof lambdaAuthorizer({ ...jwtEnv, STRATUS_LOG_LEVEL: 'warn' })).toBe('function');
  });
});
