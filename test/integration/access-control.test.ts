/**
 * Access control end to end: users with scrypt passwords, groups, allow/deny rules with `%u` and
 * `%c`, the will topic, anonymous clients refused. MQTT.js through the Stratus transport, for
 * protocol versions 4 and 5, against local strict mode on DynamoDB Local with anonymous access
 * off; the users and rules are written through the auth store, as `stratus user add` does.
 */
import { randomUUID } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../lib/auth/password';
import type { AclRule } from '../../lib/auth/types';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { createMetrics } from '../../lib/runtime/metrics';
import { DynamoAuthStore } from '../../lib/store/dynamodb/auth-store';
import { createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { MeteredDynamoDb } from '../../lib/store/dynamodb/metered';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

let broker: TestBroker;
let store: DynamoAuthStore;
const metricLines: string[] = [];
const clients: MqttClient[] = [];
const db = () => createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });

const rule = (id: string, effect: AclRule['effect'], actions: AclRule['actions'], pattern: string): AclRule => ({ id, effect, actions, pattern });

beforeAll(async () => {
  broker = await startTestBroker({
    broker: { allowAnonymous: false },
    metrics: createMetrics((line) => metricLines.push(line)),
  });
  const client = db();
  store = new DynamoAuthStore(new MeteredDynamoDb(createDynamoDbClient({ endpoint: broker.dynamodbEndpoint })), broker.tables.auth);
  const now = Date.now();
  await store.createGroup({ name: 'plant-a', createdAt: now });
  await store.addRule({ kind: 'group', name: 'plant-a' }, rule('g1', 'allow', ['publish', 'subscribe'], 'plant/a/#'));
  await store.createUser({ name: 'alice', passwordHash: await hashPassword('alice-pw'), groups: ['plant-a'], createdAt: now });
  await store.addRule({ kind: 'user', name: 'alice' }, rule('u1', 'allow', ['publish'], 'devices/%c/status'));
  await store.addRule({ kind: 'user', name: 'alice' }, rule('u2', 'allow', ['subscribe'], 'users/%u/#'));
  await store.addRule({ kind: 'user', name: 'alice' }, rule('u3', 'deny', ['publish'], 'plant/a/locked/#'));
  await store.addRule({ kind: 'user', name: 'alice' }, rule('u4', 'deny', ['subscribe'], 'plant/a/secret/#'));
  await store.addRule({ kind: 'user', name: 'alice' }, rule('u5', 'allow', ['subscribe'], '$share/line-%u/plant/a/#'));
  await store.createUser({ name: 'ops', passwordHash: await hashPassword('ops-pw'), groups: [], createdAt: now });
  await store.addRule({ kind: 'user', name: 'ops' }, rule('o1', 'allow', ['publish', 'subscribe'], '#'));
  await store.createUser({ name: 'token-only', passwordHash: null, groups: [], createdAt: now });
  client.destroy();
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.dispose();
});

interface Outcome {
  readonly c: MqttClient;
  readonly messages: Array<{ topic: string; payload: string }>;
}

/** Connects; resolves with the client, or rejects with MQTT.js's error (CONNACK refusal: `code`). */
async function open(version: ProtocolVersion, options: IClientOptions): Promise<Outcome> {
  const c = connect(broker.url, { protocolVersion: version, clientId: `ac-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...options });
  clients.push(c);
  const out: Outcome = { c, messages: [] };
  c.on('message', (topic, payload) => out.messages.push({ topic, payload: payload.toString() }));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return out;
}

/** The CONNACK refusal code MQTT.js reports (v5 reason code, 3.1.1 return code). */
async function refusal(version: ProtocolVersion, options: IClientOptions): Promise<number | undefined> {
  try {
    const { c } = await open(version, options);
    c.end(true);
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

const alice = (extra: IClientOptions = {}): IClientOptions => ({ username: 'alice', password: 'alice-pw', ...extra });
const ops = (extra: IClientOptions = {}): IClientOptions => ({ username: 'ops', password: 'ops-pw', ...extra });

/**
 * The SUBACK codes, one per filter in order: granted QoS, or 0x87 (v5) / 0x80 (3.1.1). MQTT.js
 * rejects when any filter failed, with the SUBACK packet on the error.
 */
async function subackCodes(c: MqttClient, filters: string[]): Promise<number[]> {
  try {
    const granted = await c.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])));
    return granted.map((g) => g.qos);
  } catch (error) {
    const packet = (error as { packet?: { granted?: number[]; reasonCode?: number } }).packet;
    if (packet?.granted === undefined) throw error;
    return packet.granted;
  }
}

const subackCode = async (c: MqttClient, filter: string): Promise<number> => (await subackCodes(c, [filter]))[0];

/** PUBACK reason code of a QoS 1 publish: 0 when acknowledged, else MQTT.js's error code. */
async function publishCode(c: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    await c.publishAsync(topic, payload, { qos: 1 });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe.each([4, 5] as const)('authentication (protocol %i)', (version) => {
  const BAD = version === 5 ? 0x86 : 4;
  const NOT_AUTHORIZED = version === 5 ? 0x87 : 5;

  it('accepts the right password', async () => {
    const { c } = await open(version, alice());
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  it('refuses a wrong password: 0x86 (v5) / return code 4 (3.1.1) [MQTT-3.1.4-2]', async () => {
    expect(await refusal(version, alice({ password: 'wrong' }))).toBe(BAD);
  });

  it('refuses an unknown user the same way, so users cannot be probed', async () => {
    expect(await refusal(version, { username: 'mallory', password: 'alice-pw' })).toBe(BAD);
  });

  it('refuses a user that has no password (token only)', async () => {
    expect(await refusal(version, { username: 'token-only', password: 'anything' })).toBe(BAD);
  });

  it('refuses an anonymous client when anonymous access is off: 0x87 (v5) / return code 5 (3.1.1)', async () => {
    expect(await refusal(version, {})).toBe(NOT_AUTHORIZED);
  });

  it('refuses a will whose topic the user may not publish to: 0x87 (v5) / return code 5 (3.1.1)', async () => {
    const will = { topic: 'plant/b/status', payload: Buffer.from('gone'), qos: 0 as const, retain: false };
    expect(await refusal(version, alice({ will }))).toBe(NOT_AUTHORIZED);
    const allowed = { ...will, topic: 'plant/a/status' };
    const { c } = await open(version, alice({ will: allowed }));
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  it('counts failed logins in the metrics', () => {
    expect(metricLines.some((line) => line.includes('"AuthFailures"'))).toBe(true);
  });
});

describe.each([4, 5] as const)('topic ACLs (protocol %i)', (version) => {
  const DENIED_SUB = version === 5 ? 0x87 : 0x80;
  const topic = (suffix: string) => `plant/a/v${version}-${randomUUID().slice(0, 6)}/${suffix}`;

  it('a group rule allows publish and subscribe under its pattern', async () => {
    const t = topic('line1');
    const reader = await open(version, ops());
    await reader.c.subscribeAsync(t, { qos: 1 });
    const writer = await open(version, alice());
    expect(await publishCode(writer.c, t, 'ok')).toBe(0);
    await eventually(() => reader.messages.some((m) => m.payload === 'ok'));
    await writer.c.endAsync();
    await reader.c.endAsync();
  });

  it('a denied PUBLISH is dropped: v5 PUBACK 0x87, 3.1.1 acknowledged and counted', async () => {
    const t = `plant/b/v${version}-${randomUUID().slice(0, 6)}`;
    const reader = await open(version, ops());
    await reader.c.subscribeAsync(t, { qos: 1 });
    const writer = await open(version, alice());
    expect(await publishCode(writer.c, t, 'denied')).toBe(version === 5 ? 0x87 : 0);
    // A later allowed message on the same connection arrives; the denied one never does.
    const ok = topic('after');
    await reader.c.subscribeAsync(ok, { qos: 1 });
    expect(await publishCode(writer.c, ok, 'after')).toBe(0);
    await eventually(() => reader.messages.some((m) => m.payload === 'after'));
    expect(reader.messages.map((m) => m.payload)).not.toContain('denied');
    expect(metricLines.some((line) => line.includes('"PublishDenied"'))).toBe(true);
    await writer.c.endAsync();
    await reader.c.endAsync();
  });

  it('a denied retained PUBLISH is not stored', async () => {
    const t = `plant/b/retained-v${version}-${randomUUID().slice(0, 6)}`;
    const writer = await open(version, alice());
    await publishCode(writer.c, t, 'nope').catch(() => undefined);
    await writer.c.publishAsync(t, 'nope', { qos: 1, retain: true }).catch(() => undefined);
    const reader = await open(version, ops());
    await reader.c.subscribeAsync(t, { qos: 1 });
    const marker = `plant/b/marker-${randomUUID().slice(0, 6)}`;
    await reader.c.subscribeAsync(marker, { qos: 1 });
    await reader.c.publishAsync(marker, 'marker', { qos: 1 });
    await eventually(() => reader.messages.some((m) => m.payload === 'marker'));
    expect(reader.messages.map((m) => m.payload)).not.toContain('nope');
    await writer.c.endAsync();
    await reader.c.endAsync();
  });

  it('deny beats allow: a publish under a denied branch of an allowed pattern is refused', async () => {
    const writer = await open(version, alice());
    expect(await publishCode(writer.c, 'plant/a/locked/valve', 'x')).toBe(version === 5 ? 0x87 : 0);
    await writer.c.endAsync();
  });

  it('a denied SUBSCRIBE gets 0x87 (v5) / 0x80 (3.1.1) for that filter only [MQTT-3.9.3-1]', async () => {
    const { c } = await open(version, alice());
    expect(await subackCodes(c, ['plant/b/#', topic('ok')])).toEqual([DENIED_SUB, 1]);
    await c.endAsync();
  });

  it('a filter that overlaps a denied branch is refused; one beside it is granted', async () => {
    const { c } = await open(version, alice());
    expect(await subackCode(c, 'plant/a/#')).toBe(DENIED_SUB);
    expect(await subackCode(c, 'plant/a/+/line')).toBe(DENIED_SUB);
    expect(await subackCode(c, 'plant/a/line7/#')).toBe(1);
    await c.endAsync();
  });

  it('a shared subscription needs a share rule for its group, and its filter passes the topic rules [MQTT-4.8.2-1]', async () => {
    const { c } = await open(version, alice());
    expect(await subackCode(c, '$share/line-alice/plant/a/line7/#')).toBe(1);
    expect(await subackCode(c, '$share/line-alice/plant/b/#')).toBe(DENIED_SUB); // the filter is not allowed
    expect(await subackCode(c, '$share/line-alice/plant/a/secret/x')).toBe(DENIED_SUB); // a deny rule fences it off
    expect(await subackCode(c, '$share/g/plant/a/line7/#')).toBe(DENIED_SUB); // a group her rules do not name
    await c.endAsync();
  });

  it('%c is the client id: a device may publish its own status only', async () => {
    const clientId = `dev-${version}-${randomUUID().slice(0, 6)}`;
    const { c } = await open(version, alice({ clientId }));
    expect(await publishCode(c, `devices/${clientId}/status`, 'up')).toBe(0);
    expect(await publishCode(c, 'devices/someone-else/status', 'up')).toBe(version === 5 ? 0x87 : 0);
    await c.endAsync();
  });

  it('%u is the username: a user may subscribe under its own name only', async () => {
    const { c } = await open(version, alice());
    expect(await subackCode(c, 'users/alice/#')).toBe(1);
    expect(await subackCode(c, 'users/bob/#')).toBe(DENIED_SUB);
    await c.endAsync();
  });
});

describe.each([4, 5] as const)('rules that narrow while a session is offline (protocol %i)', (version) => {
  it('a resumed session keeps only the subscriptions, and receives only the queued messages, its new rules allow', async () => {
    const name = `carol-${version}`;
    await store.createUser({ name, passwordHash: await hashPassword('carol-pw'), groups: ['plant-a'], createdAt: Date.now() });
    await store.addRule({ kind: 'user', name }, rule('own', 'allow', ['subscribe'], 'users/%u/#'));
    const creds = { username: name, password: 'carol-pw', clientId: `carol-${version}-${randomUUID().slice(0, 6)}`, clean: false };
    const persistent = version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {};
    const first = await open(version, { ...creds, ...persistent });
    expect(await subackCodes(first.c, ['plant/a/line9/#', `users/${name}/#`])).toEqual([1, 1]);
    await first.c.endAsync();

    // Queued while offline, under the old rules.
    const sender = await open(version, ops());
    await sender.c.publishAsync('plant/a/line9/temp', 'queued-dropped', { qos: 1 });
    await sender.c.publishAsync(`users/${name}/note`, 'queued-kept', { qos: 1 });

    await store.updateUser(name, { groups: [] }); // plant/a/# is no longer allowed
    const again = await open(version, { ...creds, ...persistent });
    await sender.c.publishAsync('plant/a/line9/temp', 'dropped', { qos: 1 });
    await sender.c.publishAsync(`users/${name}/note`, 'kept', { qos: 1 });
    await eventually(() => again.messages.some((m) => m.payload === 'kept') && again.messages.some((m) => m.payload === 'queued-kept'));
    expect(again.messages.map((m) => m.payload)).not.toContain('dropped');
    expect(again.messages.map((m) => m.payload)).not.toContain('queued-dropped');
    await sender.c.endAsync();
    await again.c.endAsync();
  });
});

describe.each([4, 5] as const)('client ids and principals (protocol %i)', (version) => {
  it.each([true, false])(
    'a client id whose live session another user holds is refused with 0x87 / 5 (Clean Start %s), and its owner stays connected',
    async (clean) => {
      const clientId = `plc-${version}-${clean}-${randomUUID().slice(0, 6)}`;
      const owner = await open(version, alice({ clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}) }));
      expect(await refusal(version, ops({ clientId, clean }))).toBe(version === 5 ? 0x87 : 5);
      expect(owner.c.connected).toBe(true);
      // The same user may take its own client id over [MQTT-3.1.4-3].
      const again = await open(version, alice({ clientId, clean }));
      await again.c.endAsync();
      owner.c.end(true);
    },
  );
});
