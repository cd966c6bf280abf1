/**
 * Persistent sessions end to end: MQTT.js through the Stratus transport against local strict
 * mode on DynamoDB Local, for protocol versions 4 and 5.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { IConnackPacket, IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import { encode, type ConnectPacket, type ProtocolVersion } from '../../lib/mqtt';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { eventually } from '../helpers/eventually';
import { RawClient } from '../helpers/raw-client';

const VERSIONS: ProtocolVersion[] = [4, 5];
/** The operator's longest session: short, so that expiry can be seen in a test. */
const MAX_SESSION_EXPIRY = 2;

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker({ broker: { maximumSessionExpiryInterval: MAX_SESSION_EXPIRY } });
});

afterAll(async () => {
  RawClient.terminateAll();
  await broker?.dispose();
});

/** Connects and resolves with the client and its CONNACK. */
function open(version: ProtocolVersion, clientId: string, options: IClientOptions = {}): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const persistent = options.clean === false;
  const client = connect(broker.url, {
    protocolVersion: version,
    clientId,
    reconnectPeriod: 0,
    ...(persistent && version === 5 ? { properties: { sessionExpiryInterval: MAX_SESSION_EXPIRY } } : {}),
    ...options,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, connack }));
    client.once('error', reject);
  });
}

async function liveConnectionsOf(clientId: string): Promise<number> {
  const db = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
  try {
    const out = await db.send(new ScanCommand({ TableName: broker.tables.connections, ConsistentRead: true }));
    return (out.Items ?? []).filter((item) => item.clientId?.S === clientId).length;
  } finally {
    db.destroy();
  }
}

describe.each(VERSIONS)('sessions, protocol %i', (version) => {
  it('a first persistent CONNECT has Session Present 0, a reconnect Session Present 1 [MQTT-3.2.2-2]', async () => {
    const clientId = `persist-${version}-${randomUUID().slice(0, 6)}`;
    const first = await open(version, clientId, { clean: false });
    expect(first.connack.sessionPresent).toBe(false);
    await first.client.endAsync();
    const second = await open(version, clientId, { clean: false });
    expect(second.connack.sessionPresent).toBe(true);
    await second.client.endAsync();
  });

  it('a clean CONNECT discards the session: Session Present 0 [MQTT-3.2.2-1]', async () => {
    const clientId = `clean-${version}-${randomUUID().slice(0, 6)}`;
    await (await open(version, clientId, { clean: false })).client.endAsync();
    const clean = await open(version, clientId, { clean: true });
    expect(clean.connack.sessionPresent).toBe(false);
    await clean.client.endAsync();
  });

  it('a session ends when its expiry interval has passed: Session Present 0 [MQTT-3.1.2-23]', async () => {
    const clientId = `expire-${version}-${randomUUID().slice(0, 6)}`;
    await (await open(version, clientId, { clean: false })).client.endAsync();
    await new Promise((resolve) => setTimeout(resolve, (MAX_SESSION_EXPIRY + 1) * 1000));
    const later = await open(version, clientId, { clean: false });
    expect(later.connack.sessionPresent).toBe(false);
    await later.client.endAsync();
  });

  it('a CONNECT for a connected client id takes the session over and closes the old connection [MQTT-3.1.4-3]', async () => {
    const clientId = `takeover-${version}-${randomUUID().slice(0, 6)}`;
    const old = await open(version, clientId, { clean: false });
    const told = new Promise<number | undefined>((resolve) => {
      old.client.on('packetreceive', (p) => {
        if (p.cmd === 'disconnect') resolve((p as { reasonCode?: number }).reasonCode);
      });
      old.client.once('close', () => resolve(undefined));
    });
    const fresh = await open(version, clientId, { clean: false });
    expect(fresh.connack.sessionPresent).toBe(true);
    const reason = await told;
    // v5 says why first: Session taken over; 3.1.1 just closes.
    if (version === 5) expect(reason).toBe(0x8e);
    await eventually(async () => (await liveConnectionsOf(clientId)) === 1);
    await fresh.client.endAsync();
    old.client.end(true);
  });

  it('two CONNECTs racing for one client id leave exactly one live connection', async () => {
    const clientId = `race-${version}-${randomUUID().slice(0, 6)}`;
    const sockets = await Promise.all([RawClient.open(broker.url, version), RawClient.open(broker.url, version)]);
    await Promise.all(sockets.map((s) => s.send(connectPacket(version, clientId))));
    await eventually(async () => sockets.filter((s) => s.isClosed).length === 1 && (await liveConnectionsOf(clientId)) === 1);
    expect(sockets.filter((s) => s.isClosed)).toHaveLength(1);
    expect(await liveConnectionsOf(clientId)).toBe(1);
    // The one left open was accepted.
    const survivor = sockets.find((s) => !s.isClosed) as RawClient;
    expect(await survivor.next('connack')).toMatchObject({ reasonCode: 0 });
    for (const s of sockets) s.terminate();
  });
});

function connectPacket(version: ProtocolVersion, clientId: string): ConnectPacket {
  return {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: version,
    clean: false,
    keepAlive: 60,
    clientId,
    ...(version === 5 ? { properties: { sessionExpiryInterval: MAX_SESSION_EXPIRY } } : {}),
  };
}

describe.each(VERSIONS)('CONNECT checks, protocol %i', (version) => {
  it('an unsupported protocol level gets CONNACK return code 1, then a close [MQTT-3.1.2-2]', async () => {
    // Level 6 does not exist. A client that speaks it cannot be expected to read a v5 CONNACK,
    // so the answer is the 3.1.1 form every version can read: return code 1.
    const raw = await RawClient.open(broker.url, 4);
    const bytes = Buffer.from(encode(connectPacket(version, `level-${version}`), version));
    bytes[8] = 6; // fixed header (2 bytes) + protocol name (6 bytes): the protocol level byte
    await raw.sendBytes(bytes);
    await raw.waitClosed();
    expect(raw.packets[0]).toMatchObject({ type: 'connack', reasonCode: 1 });
  });

  it('an empty client id with clean start gets an assigned id [MQTT-3.1.3-6]', async () => {
    const { client, connack } = await open(version, '', { clean: true });
    expect(connack.returnCode ?? connack.reasonCode).toBe(0);
    if (version === 5) expect(connack.properties?.assignedClientIdentifier).toMatch(/.+/);
    await client.endAsync();
  });

  it('an empty client id without clean session is refused with return code 2 in 3.1.1, assigned one in v5 [MQTT-3.1.3-8]', async () => {
    const raw = await RawClient.open(broker.url, version);
    await raw.send({ ...connectPacket(version, ''), clean: false });
    if (version === 5) {
      // v5 allows it and assigns an id.
      const connack = await raw.next('connack');
      expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: false });
      expect(connack.properties?.assignedClientIdentifier).toMatch(/.+/);
      return;
    }
    await raw.waitClosed();
    expect(raw.packets[0]).toMatchObject({ type: 'connack', reasonCode: 2 });
  });
});

describe('Will Delay Interval (v5)', () => {
  async function watch(topic: string) {
    const { client } = await open(5, `watch-${randomUUID().slice(0, 6)}`);
    const got: string[] = [];
    client.on('message', (_t, payload) => got.push(payload.toString()));
    await client.subscribeAsync(topic, { qos: 1 });
    return { client, got };
  }
  const willOptions = (topic: string, clientId: string): IClientOptions => ({
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 60 },
    will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
  });

  it('publishes the will once its delay has passed, not before [MQTT-3.1.3-9]', async () => {
    const topic = `plant/${randomUUID().slice(0, 8)}/status`;
    const watcher = await watch(topic);
    const { client } = await open(5, `delay-${randomUUID().slice(0, 6)}`, willOptions(topic, `delay-${randomUUID().slice(0, 6)}`));
    client.stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await broker.sweep();
    expect(watcher.got).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await broker.sweep();
    await eventually(async () => watcher.got.length === 1);
    expect(watcher.got).toEqual(['gone']);
    await watcher.client.endAsync();
  });

  it('cancels the will when the session reconnects within the delay [MQTT-3.1.3-9]', async () => {
    const topic = `plant/${randomUUID().slice(0, 8)}/status`;
    const watcher = await watch(topic);
    const clientId = `back-${randomUUID().slice(0, 6)}`;
    const first = await open(5, clientId, willOptions(topic, clientId));
    first.client.stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = await open(5, clientId, willOptions(topic, clientId));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await broker.sweep();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(watcher.got).toEqual([]);
    await again.client.endAsync();
    await watcher.client.endAsync();
  });
});

describe('a resume that changes the Session Expiry Interval (protocol 5)', () => {
  // Its own broker: offline sessions here must outlive this file's MAX_SESSION_EXPIRY.
  let roomy: TestBroker;
  beforeAll(async () => {
    roomy = await startTestBroker();
  });
  afterAll(async () => {
    await roomy?.dispose();
  });

  const openOn = (clientId: string, options: IClientOptions): Promise<{ client: MqttClient; connack: IConnackPacket }> => {
    const client = connect(roomy.url, { protocolVersion: 5, clientId, reconnectPeriod: 0, ...options });
    return new Promise((resolve, reject) => {
      client.once('connect', (connack) => resolve({ client, connack }));
      client.once('error', reject);
    });
  };

  it('a session that becomes persistent on takeover queues its subscriptions\' messages while offline [MQTT-3.1.2-23]', async () => {
    const clientId = `grow-${randomUUID().slice(0, 8)}`;
    const t = `plant/${randomUUID().slice(0, 8)}/setpoint`;
    // Expiry 0 (ends with its connection), subscribed at QoS 1.
    const first = await openOn(clientId, { clean: true, properties: { sessionExpiryInterval: 0 } });
    await first.client.subscribeAsync(t, { qos: 1 });
    // Taken over while live, by a CONNECT that resumes it and makes it outlive its connection.
    const second = await openOn(clientId, { clean: false, properties: { sessionExpiryInterval: 600 } });
    expect(second.connack.sessionPresent).toBe(true);
    first.client.end(true);
    await second.client.endAsync();
    const db = createDynamoDbClient({ endpoint: roomy.dynamodbEndpoint });
    try {
      const live = async () => {
        const out = await db.send(new ScanCommand({ TableName: roomy.tables.connections, ConsistentRead: true }));
        return (out.Items ?? []).filter((item) => item.clientId?.S === clientId).length;
      };
      await eventually(async () => (await live()) === 0);
      // The PUBACK comes after routing: by then the copy is in the offline session's queue.
      const publisher = await openOn(`pub-${randomUUID().slice(0, 8)}`, {});
      await publisher.client.publishAsync(t, 'while offline', { qos: 1 });
      await publisher.client.endAsync();
      const out = await db.send(new ScanCommand({ TableName: roomy.tables.messages, ConsistentRead: true }));
      const queued = (out.Items ?? []).filter((item) => item.clientId?.S === clientId && item.itemKey?.S?.startsWith('q#'));
      expect(queued).toHaveLength(1);
    } finally {
      db.destroy();
    }
    // And it is delivered when the session resumes.
    const third = connect(roomy.url, { protocolVersion: 5, clientId, clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: 600 } });
    const got: string[] = [];
    third.on('message', (_topic, payload) => got.push(payload.toString()));
    await new Promise<void>((resolve, reject) => {
      third.once('connect', () => resolve());
      third.once('error', reject);
    });
    await eventually(() => got.includes('while offline'));
    await third.endAsync();
  });
});
