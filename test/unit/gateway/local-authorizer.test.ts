/**
 * The local gateway's REQUEST authorizer hook, driven by the real authorizer (lib/auth/authorizer.ts)
 * with a JWKS served over HTTP on 127.0.0.1. No DynamoDB: the handlers only record events.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer, preAuthFromAuthorizerContext } from '../../../lib/auth/authorizer';
import { createJwtVerifier } from '../../../lib/auth/jwt';
import type { AuthorizerEvent } from '../../../lib/gateway/events';
import type { LocalAuthorizer } from '../../../lib/local/gateway';
import { silentLogger } from '../../../lib/log';
import { cleanup, startGateway } from '../../integration/gateway/helpers';

const ISSUER = 'https://issuer.example.com/';
const AUDIENCE = 'stratus-local';

let jwksServer: Server;
let jwksUrl: string;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'local-1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));
afterEach(cleanup);

function token(
  sub: string,
  { key = signingKey, audience = AUDIENCE, exp = '5m' as string | number } = {},
): Promise<string> {
  return new SignJWT({ sub, 'stratus:groups': ['sensors'], 'stratus:acl': { publish: ['plant/%u/#'] } })
    .setProtectedHeader({ alg: 'RS256', kid: 'local-1' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key);
}

function realAuthorizer(): LocalAuthorizer {
  return createAuthorizer({ verify: createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl }), log: silentLogger });
}

/** Opens a client; resolves with the socket, or with the HTTP status that refused the upgrade. */
function open(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number }> {
  const ws = new WebSocket(url, 'mqtt', { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.on('error', (error) => (ws.readyState === ws.CLOSED ? undefined : reject(error)));
  }).finally(() => {
    if (ws.readyState === ws.OPEN) ws.close();
  }) as Promise<{ ws?: WebSocket; status?: number }>;
}

describe('local gateway: REQUEST authorizer on $connect', () => {
  it('passes a valid token in the query string to $connect as requestContext.authorizer', async () => {
    const seen: AuthorizerEvent[] = [];
    const authorize = realAuthorizer();
    const { address, recorder } = await startGateway({ strict: true, authorizer: (event) => (seen.push(event), authorize(event)) });
    const opened = await open(`${address.url}?token=${await token('sensor-1')}`);
    expect(opened.ws).toBeDefined();
    expect(seen[0]).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:local:000000000000:local/mqtt/$connect',
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId: recorder.connects[0]?.requestContext.connectionId },
    });
    const authorizer = recorder.connects[0]?.requestContext.authorizer;
    expect(authorizer).toMatchObject({ principalId: 'sensor-1', auth: 'jwt', username: 'sensor-1' });
    expect(typeof authorizer?.integrationLatency).toBe('number');
    expect(preAuthFromAuthorizerContext(authorizer)).toEqual({
      username: 'sensor-1',
      groups: ['sensors'],
      rules: [{ id: 'jwt-pub-0', effect: 'allow', actions: ['publish'], pattern: 'plant/%u/#' }],
    });
  });

  it('accepts a valid token in the Authorization header (any case of the header name)', async () => {
    const { address, recorder } = await startGateway({ strict: true, authorizer: realAuthorizer() });
    const opened = await open(address.url, { authorization: `Bearer ${await token('sensor-2')}` });
    expect(opened.ws).toBeDefined();
    expect(preAuthFromAuthorizerContext(recorder.connects[0]?.requestContext.authorizer)?.username).toBe('sensor-2');
  });

  it.each([
    ['an expired token', () => token('late', { exp: Math.floor(Date.now() / 1000) - 3600 })],
    ['a token for another audience', () => token('lost', { audience: 'another-api' })],
    ['a token signed by another key', () => token('forged', { key: strangerKey })],
    ['a token that is not a JWT', async () => 'hunter2'],
  ])('refuses %s with 403 before $connect runs', async (_name, make) => {
    const { address, recorder } = await startGateway({ strict: true, authorizer: realAuthorizer() });
    expect(await open(`${address.url}?token=${await make()}`)).toEqual({ status: 403 });
    expect(recorder.connects).toHaveLength(0);
  });

  it('lets a request without a token through, with no principal (the CONNECT packet authenticates it)', async () => {
    const { address, recorder } = await startGateway({ strict: true, authorizer: realAuthorizer() });
    expect((await open(address.url)).ws).toBeDefined();
    const authorizer = recorder.connects[0]?.requestContext.authorizer;
    expect(authorizer).toMatchObject({ auth: 'none' });
    expect(preAuthFromAuthorizerContext(authorizer)).toBeUndefined();
  });

  it('answers 401 for a thrown Unauthorized and 500 for any other failure, as API Gateway does', async () => {
    const unauthorized = await startGateway({ strict: true, authorizer: async () => Promise.reject(new Error('Unauthorized')) });
    expect(await open(unauthorized.address.url)).toEqual({ status: 401 });
    const broken = await startGateway({ strict: true, authorizer: async () => ({ principalId: 'x' }) as never });
    expect(await open(broken.address.url)).toEqual({ status: 500 });
    expect(broken.recorder.logs.some((entry) => entry.msg === 'authorizer failed')).toBe(true);
    expect(unauthorized.recorder.connects.length + broken.recorder.connects.length).toBe(0);
  });

  it('refuses with 403 when the policy does not allow this route', async () => {
    const { address } = await startGateway({
      strict: true,
      authorizer: async () => ({
        principalId: 'p',
        policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:*:*:other/*' }] },
      }),
    });
    expect(await open(address.url)).toEqual({ status: 403 });
  });

  it('without an authorizer, $connect gets no requestContext.authorizer', async () => {
    const { address, recorder } = await startGateway({ strict: true });
    expect((await open(`${address.url}?token=${await token('ignored')}`)).ws).toBeDefined();
    expect(recorder.connects[0]?.requestContext.authorizer).toBeUndefined();
  });
});
