import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJwtVerifier,
  JwtConfigError,
  jwtOptionsFromEnv,
  looksLikeJwt,
  parseJwtOptions,
  type JwtOptions,
} from '../../../lib/auth/jwt';

const ISSUER = 'https://issuer.example.com/';
const AUDIENCE = 'stratus';

let signingKey: CryptoKey;
let otherKey: CryptoKey;
let publicJwk: JWK;
let options: JwtOptions;

async function sign(
  claims: JWTPayload,
  { key = signingKey, alg = 'ES256', expiresIn = '5m' as string | number | null, issuer = ISSUER, audience = AUDIENCE } = {},
): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).setIssuedAt();
  if (issuer) jwt = jwt.setIssuer(issuer);
  if (audience) jwt = jwt.setAudience(audience);
  if (expiresIn !== null) jwt = jwt.setExpirationTime(expiresIn);
  return jwt.sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  options = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [publicJwk] } };
});

describe('createJwtVerifier (inline JWKS)', () => {
  it('accepts a valid token and maps username, groups and acl patterns', async () => {
    const verify = createJwtVerifier(options);
    const token = await sign({
      sub: 'sensor-7',
      'stratus:groups': ['plant-b', 'plant-a', 'plant-a'],
      'stratus:acl': { publish: ['plant/%u/telemetry/#'], subscribe: ['plant/%u/cmd/+', 'broadcast/#'] },
    });
    expect(await verify(token)).toEqual({
      ok: true,
      username: 'sensor-7',
      groups: ['plant-a', 'plant-b'],
      rules: [
        { id: 'jwt-pub-0', effect: 'allow', actions: ['publish'], pattern: 'plant/%u/telemetry/#' },
        { id: 'jwt-sub-0', effect: 'allow', actions: ['subscribe'], pattern: 'plant/%u/cmd/+' },
        { id: 'jwt-sub-1', effect: 'allow', actions: ['subscribe'], pattern: 'broadcast/#' },
      ],
    });
  });

  it('accepts a share rule to subscribe: the token names the groups its holder may join', async () => {
    const verdict = await createJwtVerifier(options)(await sign({ sub: 'a', 'stratus:acl': { subscribe: ['$share/%u/jobs/#'] } }));
    expect(verdict).toMatchObject({ ok: true, rules: [{ actions: ['subscribe'], pattern: '$share/%u/jobs/#' }] });
  });

  it('has no groups and no rules when the token carries no Stratus claims', async () => {
    const verdict = await createJwtVerifier(options)(await sign({ sub: 'alice' }));
    expect(verdict).toEqual({ ok: true, username: 'alice', groups: [], rules: [] });
  });

  it('reads the username from the configured claim', async () => {
    const verify = createJwtVerifier({ ...options, usernameClaim: 'preferred_username' });
    expect(await verify(await sign({ sub: 'x-1', preferred_username: 'bob' }))).toMatchObject({ ok: true, username: 'bob' });
    expect(await verify(await sign({ sub: 'x-1' }))).toEqual({ ok: false, reason: 'claims' });
  });

  it.each([
    ['expired', () => ({ expiresIn: Math.floor(Date.now() / 1000) - 120 }), 'expired'],
    ['for another audience', () => ({ audience: 'someone-else' }), 'audience'],
    ['without an audience', () => ({ audience: '' }), 'audience'],
    ['from another issuer', () => ({ issuer: 'https://evil.example.com/' }), 'issuer'],
    ['signed by another key', () => ({ key: otherKey }), 'signature'],
    ['without exp', () => ({ expiresIn: null }), 'claims'],
  ])('refuses a token %s', async (_name, overrides, reason) => {
    const token = await sign({ sub: 'alice' }, overrides());
    expect(await createJwtVerifier(options)(token)).toEqual({ ok: false, reason });
  });

  it('accepts a token expired within the clock tolerance', async () => {
    const token = await sign({ sub: 'alice' }, { expiresIn: Math.floor(Date.now() / 1000) - 5 });
    expect(await createJwtVerifier(options)(token)).toMatchObject({ ok: true });
    expect(await createJwtVerifier({ ...options, clockToleranceSeconds: 0 })(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses alg none (an unsecured JWT)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now + 300 })}.`;
    expect(await createJwtVerifier(options)(token)).toEqual({ ok: false, reason: 'signature' });
  });

  it('refuses HS256, even keyed with the public key material', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const token = await sign({ sub: 'alice' }, { alg: 'HS256', key: secret as never });
    expect(await createJwtVerifier(options)(token)).toEqual({ ok: false, reason: 'signature' });
  });

  it.each([
    ['a username with a wildcard', { sub: 'a/+' }],
    ['an empty username', { sub: '' }],
    ['a numeric username', { sub: 42 }],
    ['groups that are not a string array', { sub: 'a', 'stratus:groups': 'admins' }],
    ['an invalid publish pattern', { sub: 'a', 'stratus:acl': { publish: ['a/#/b'] } }],
    ['a shared-subscription pattern to publish', { sub: 'a', 'stratus:acl': { publish: ['$share/g/a'] } }],
    ['a share group with a wildcard inside', { sub: 'a', 'stratus:acl': { subscribe: ['$share/g+/a'] } }],
    ['an unknown acl action', { sub: 'a', 'stratus:acl': { delete: ['a'] } }],
    ['an acl that is not an object', { sub: 'a', 'stratus:acl': ['a/#'] }],
  ])('refuses a token with %s (claims)', async (_name, claims) => {
    expect(await createJwtVerifier(options)(await sign(claims as JWTPayload))).toEqual({ ok: false, reason: 'claims' });
  });

  it.each([['not-a-jwt'], ['a.b.c'], [''], [`${b64({ alg: 'ES256' })}.${Buffer.from('not json').toString('base64url')}.c2ln`], ['eyJ.eyJ.x']])(
    'calls %j malformed',
    async (token) => {
      expect(await createJwtVerifier(options)(token)).toEqual({ ok: false, reason: 'malformed' });
    },
  );
});

describe('createJwtVerifier (remote JWKS)', () => {
  let server: Server;
  let jwksUrl: string;
  let fetches = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches the key set once per verifier', async () => {
    const verify = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl });
    const before = fetches;
    expect(await verify(await sign({ sub: 'alice' }))).toMatchObject({ ok: true, username: 'alice' });
    expect(await verify(await sign({ sub: 'bob' }))).toMatchObject({ ok: true, username: 'bob' });
    expect(fetches - before).toBe(1);
  });

  it('throws JwtConfigError when the key set cannot be fetched', async () => {
    const verify = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'http://127.0.0.1:1/jwks.json' });
    await expect(verify(await sign({ sub: 'alice' }))).rejects.toBeInstanceOf(JwtConfigError);
  });
});

describe('options', () => {
  it.each([
    ['neither jwksUrl nor jwks', { issuer: ISSUER, audience: AUDIENCE }],
    ['both jwksUrl and jwks', { issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'https://a.example.com/jwks', jwks: { keys: [] } }],
    ['an http JWKS URL on another host', { issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'http://a.example.com/jwks' }],
    ['an HS256 algorithm', { issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'https://a.example.com/jwks', algorithms: ['HS256'] }],
    ['alg none', { issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'https://a.example.com/jwks', algorithms: ['none'] }],
    ['a symmetric key', { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }],
    ['a private key', { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }] } }],
    ['an empty issuer', { issuer: '', audience: AUDIENCE, jwksUrl: 'https://a.example.com/jwks' }],
  ])('refuses %s', (_name, bad) => {
    expect(() => parseJwtOptions(bad as JwtOptions)).toThrow(JwtConfigError);
    expect(() => createJwtVerifier(bad as JwtOptions)).toThrow(JwtConfigError);
  });

  it('applies the defaults: sub, asymmetric algorithms, 30 s tolerance', () => {
    const config = parseJwtOptions({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'https://a.example.com/jwks' });
    expect(config.usernameClaim).toBe('sub');
    expect(config.clockToleranceSeconds).toBe(30);
    expect(config.algorithms).toContain('RS256');
    expect(config.algorithms.some((a) => a.startsWith('HS'))).toBe(false);
  });

  it('reads the environment, or nothing when no variable is set', () => {
    expect(jwtOptionsFromEnv({})).toBeUndefined();
    expect(
      jwtOptionsFromEnv({ STRATUS_JWT_ISSUER: ISSUER, STRATUS_JWT_AUDIENCE: AUDIENCE, STRATUS_JWT_JWKS_URL: 'https://a.example.com/jwks' }),
    ).toMatchObject({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'https://a.example.com/jwks' });
    const inline = jwtOptionsFromEnv({
      STRATUS_JWT_ISSUER: ISSUER,
      STRATUS_JWT_AUDIENCE: AUDIENCE,
      STRATUS_JWT_JWKS: JSON.stringify({ keys: [publicJwk] }),
      STRATUS_JWT_USERNAME_CLAIM: 'email',
    });
    expect(inline).toMatchObject({ usernameClaim: 'email', jwks: { keys: [publicJwk] } });
  });

  it.each([
    [{ STRATUS_JWT_AUDIENCE: AUDIENCE, STRATUS_JWT_JWKS_URL: 'https://a.example.com/j' }, 'STRATUS_JWT_ISSUER'],
    [{ STRATUS_JWT_ISSUER: ISSUER, STRATUS_JWT_JWKS_URL: 'https://a.example.com/j' }, 'STRATUS_JWT_AUDIENCE'],
    [{ STRATUS_JWT_ISSUER: ISSUER, STRATUS_JWT_AUDIENCE: AUDIENCE, STRATUS_JWT_JWKS_URL: 'ftp://a' }, 'STRATUS_JWT_JWKS_URL'],
    [{ STRATUS_JWT_ISSUER: ISSUER, STRATUS_JWT_AUDIENCE: AUDIENCE, STRATUS_JWT_JWKS: '{' }, 'STRATUS_JWT_JWKS'],
  ])('names the bad variable %#', (env, name) => {
    expect(() => jwtOptionsFromEnv(env)).toThrow(name);
  });
});

describe('looksLikeJwt', () => {
  it('tells a compact JWS from a password', async () => {
    expect(looksLikeJwt(await sign({ sub: 'a' }))).toBe(true);
    expect(looksLikeJwt('correct horse battery staple')).toBe(false);
    expect(looksLikeJwt('a.b.c')).toBe(false);
    expect(looksLikeJwt(`eyJ${'A'.repeat(20_000)}.eyJ.x`)).toBe(false);
  });
});
