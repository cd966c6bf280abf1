/**
 * Persistent sessions end to end: MQTT.js through the Stratus transport against local strict
 * mode on DynamoDB Local, for protocol versions 4 and 5.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { IConnackPacket, IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect } from '../../lib/client';
import { createDecoder, decode, encode, type Packet, type ProtocolVersion } from '../../lib/mqtt';
import { startLocalBroker, type LocalBroker } from '../../lib/runtime/local-broker';
import { silentLogger } from '../../lib/runtime/log';
import { createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { deleteTables } from '../../lib/store/dynamodb/tables';
import { dynamoDbEndpoint } from '../helpers/dynamodb';
import { eventually } from '../helpers/eventually';

const VERSIONS: ProtocolVersion[] = [4, 5];
/** The operator's longest session: short, so that expiry can be seen in a test. */
const MAX_SESSION_EXPIRY = 2;

let broker: LocalBroker;

beforeAll(async () => {
  broker = await startLocalBroker({
    gateway: { port: 0, strict: true },
    dynamodbEndpoint: dynamoDbEndpoint(),
    tablePrefix: `t-${randomUUID().slice(0, 12)}-`,
    broker: { maximumSessionExpiryInterval: MAX_SESSION_EXPIRY },
    sweepIntervalMs: 0,
    log: silentLogger,
  });
});

afterAll(async () => {
  await broker?.stop();
  const client = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
  await deleteTables(client, broker.tables);
  client.destroy();
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
    const sockets = await Promise.all([rawSocket(version), rawSocket(version)]);
    const connectBytes = encode(connectPacket(version, clientId), version);
    for (const s of sockets) s.ws.send(Buffer.from(connectBytes).toString('base64'));
    await eventually(async () => sockets.filter((s) => s.closed).length === 1 && (await liveConnectionsOf(clientId)) === 1);
    for (const s of sockets) s.ws.terminate();
  });
});

function connectPacket(version: ProtocolVersion, clientId: string): Packet {
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

async function rawSocket(version: ProtocolVersion): Promise<{ ws: WebSocket; closed: boolean; packets: Packet[] }> {
  const ws = new WebSocket(broker.url, 'mqtt');
  const state = { ws, closed: false, packets: [] as Packet[] };
  const decoder = createDecoder({ protocolVersion: version });
  ws.on('message', (data) => state.packets.push(...decode(decoder, Buffer.from(String(data), 'base64')).packets));
  ws.on('close', () => (state.closed = true));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return state;
}
