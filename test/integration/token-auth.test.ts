/**
 * Token authentication end to end: a JWT in the WebSocket URL (checked by the `$connect` REQUEST
 * authorizer before the connection opens) or as the CONNECT password (checked at CONNECT), its
 * claims mapped to the principal and its allowed topics. MQTT.js through the Stratus transport,
 * protocols 4 and 5, local strict mode on DynamoDB Local with anonymous access off; the key set
 * is served over HTTP on 127.0.0.1, as an identity provider's JWKS URL.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const ISSUER = 'https://login.plant.example/';
const AUDIENCE = 'stratus';

let broker: TestBroker;
let jwks: Server;
let signingKey: CryptoKey;
let otherKey: CryptoKey;
const clients: MqttClient[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  broker = await startTestBroker({ broker: { allowAnonymous: false }, jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUrl } });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.dispose();
  await new Promise<void>((resolve) => jwks?.close(() => resolve()));
});

interface TokenOptions {
  sub?: string;
  audience?: string;
  expiresIn?: string | number;
  key?: CryptoKey;
}

/** A device token: publish under `fleet/{sub}/#`, subscribe to `commands/{sub}/#`. */
function token(options: TokenOptions = {}): Promise<string> {
  const sub = options.sub ?? 'press-7';
  return new SignJWT({ 'stratus:acl': { publish: ['fleet/%u/#'], subscribe: ['commands/%u/#'] } })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m')
    .sign(options.key ?? signingKey);
}

/** Connects; resolves on CONNACK 0, rejects with MQTT.js's error (a refused CONNACK: `code`) or on close. */
async function open(version: ProtocolVersion, options: IClientOptions, query = ''): Promise<MqttClient> {
  const c = connect(`${broker.url}${query}`, { protocolVersion: version, clientId: `tk-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...options });
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return c;
}

/** How a connection attempt ended: 'connected', or the CONNACK refusal code, or 'refused-upgrade'. */
async function attempt(version: ProtocolVersion, options: IClientOptions, query = ''): Promise<'connected' | number | 'refused-upgrade'> {
  try {
    const c = await open(version, options, query);
    c.end(true);
    return 'connected';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' ? code : 'refused-upgrade';
  }
}

async function publishCode(c: MqttClient, topic: string): Promise<number> {
  try {
    await c.publishAsync(topic, 'x', { qos: 1 });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe.each([4, 5] as const)('JWT authentication (protocol %i)', (version) => {
  const BAD = version === 5 ? 0x86 : 4;

  it('a valid token in the URL connects; its claims give the principal and its topics', async () => {
    const c = await open(version, {}, `?token=${await token()}`);
    expect(await publishCode(c, 'fleet/press-7/temp')).toBe(0);
    expect(await publishCode(c, 'fleet/press-8/temp')).toBe(version === 5 ? 0x87 : 0);
    await c.endAsync();
  });

  it('a valid token as the CONNECT password connects with the same rules', async () => {
    const c = await open(version, { username: 'ignored', password: await token() });
    expect(await publishCode(c, 'fleet/press-7/temp')).toBe(0);
    expect(await publishCode(c, 'plant/a/x')).toBe(version === 5 ? 0x87 : 0);
    await c.endAsync();
  });

  it.each([
    ['expired', { expiresIn: Math.floor(Date.now() / 1000) - 120 }],
    ['for another audience', { audience: 'someone-else' }],
    ['signed with another key', { other: true }],
  ] as const)('a token %s in the URL is refused before the connection opens', async (_what, options) => {
    const t = await token({ ...options, key: 'other' in options ? otherKey : undefined });
    expect(await attempt(version, {}, `?token=${t}`)).toBe('refused-upgrade');
  });

  it.each([
    ['expired', { expiresIn: Math.floor(Date.now() / 1000) - 120 }],
    ['for another audience', { audience: 'someone-else' }],
    ['signed with another key', { other: true }],
  ] as const)('a token %s as the password gets 0x86 (v5) / return code 4 (3.1.1)', async (_what, options) => {
    const t = await token({ ...options, key: 'other' in options ? otherKey : undefined });
    expect(await attempt(version, { username: 'press-7', password: t })).toBe(BAD);
  });

  it('no token and no credentials: refused, anonymous access being off (0x87 / 5)', async () => {
    expect(await attempt(version, {})).toBe(version === 5 ? 0x87 : 5);
  });
});
