/**
 * The bridge's listeners and its edge cases, with MQTT.js's own transports as the stock client
 * (binary WebSocket, TCP, TLS) and MQTT.js over the Stratus transport on the other end, against
 * local strict mode.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type IDisconnectPacket, type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { encode } from '../../../lib/mqtt';
import { createDynamoDbClient } from '../../../lib/store/dynamodb/client';
import { MeteredDynamoDb } from '../../../lib/store/dynamodb/metered';
import { DynamoSessionStore } from '../../../lib/store/dynamodb/session-store';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../helpers/local-broker';
import { endClients, startTestBridge, stratusClient, text, topic, uid, until, type TestBridge } from './helpers';

let broker: TestBroker;
let bridge: TestBridge;
const stock: MqttClient[] = [];

/** A self-signed certificate for localhost/127.0.0.1, made with the openssl CLI, if it is there. */
const certificate = makeCertificate();

beforeAll(async () => {
  broker = await startTestBroker();
  const tls = certificate ? ['mqtts://127.0.0.1:0', 'wss://127.0.0.1:0'] : [];
  bridge = await startTestBridge(broker.url, {
    listen: ['mqtt://127.0.0.1:0', 'ws://127.0.0.1:0', ...tls],
    ...(certificate ? { cert: certificate.certFile, key: certificate.keyFile } : {}),
  });
}, 120_000);

afterEach(() => {
  for (const c of stock.splice(0)) c.end(true);
});

afterAll(async () => {
  endClients();
  await bridge?.close();
  await broker?.dispose();
  if (certificate) rmSync(certificate.dir, { recursive: true, force: true });
});

const listenerUrl = (scheme: string) => bridge.listeners.find((l) => l.url.startsWith(`${scheme}://`))?.url as string;

/** A stock MQTT.js client on one of the bridge's listeners (its own transport, not Stratus's). */
async function stockClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: uid('stock'), reconnectPeriod: 0, ...options });
  stock.push(c);
  return c;
}

describe.each([4, 5] as const)('listeners, protocol %i', (version) => {
  it('binary WebSocket (ws://): MQTT.js on its plain ws transport exchanges QoS 1 and 2 with the Stratus transport', async () => {
    const up = topic('ws-up');
    const down = topic('ws-down');
    const cloud = await stratusClient(broker.url, version);
    await cloud.c.subscribeAsync(up, { qos: 2 });
    const device = await stockClient(`${listenerUrl('ws')}/mqtt`, { protocolVersion: version });
    const received: string[] = [];
    device.on('message', (_t, payload) => received.push(payload.toString()));
    await device.subscribeAsync(down, { qos: 2 });
    await device.publishAsync(up, 'from ws', { qos: 2 });
    await cloud.c.publishAsync(down, 'to ws', { qos: 1 });
    await until(() => cloud.received.length === 1 && received.length === 1);
    expect(text(cloud.received[0])).toBe('from ws');
    expect(received).toEqual(['to ws']);
  });

  it.skipIf(!certificate)(
    `TLS listeners (mqtts://, wss://) with --cert and --key${certificate ? '' : ' (skipped: the openssl CLI is not available to make a certificate)'}`,
    async () => {
      const t = topic('tls');
      const cloud = await stratusClient(broker.url, version);
      await cloud.c.subscribeAsync(t, { qos: 1 });
      const tls = { protocolVersion: version, ca: certificate?.cert, servername: 'localhost' } as const;
      const overTls = await stockClient(listenerUrl('mqtts'), tls);
      const overWss = await stockClient(`${listenerUrl('wss')}/mqtt`, { ...tls, wsOptions: { ca: certificate?.cert } });
      await overTls.publishAsync(t, 'mqtts', { qos: 1 });
      await overWss.publishAsync(t, 'wss', { qos: 1 });
      await until(() => cloud.received.length === 2);
      expect(cloud.received.map(text).sort()).toEqual(['mqtts', 'wss']);
    },
  );

  it('a 60 KB PUBLISH from the cloud reaches a TCP device whole: the relay reassembles tagged fragments [MQTT-6.0.0-2]', async () => {
    const down = topic('big-down');
    const body = Buffer.alloc(60_000, 0x5a);
    body.write('end', body.length - 3);
    const device = await stockClient(listenerUrl('mqtt'), { protocolVersion: version });
    const received: Buffer[] = [];
    device.on('message', (_t, payload) => received.push(payload));
    await device.subscribeAsync(down, { qos: 1 });
    const cloud = await stratusClient(broker.url, version);
    await cloud.c.publishAsync(down, body, { qos: 1 });
    await cloud.c.publishAsync(down, 'small', { qos: 1 });
    await until(() => received.length === 2);
    expect(received.map((b) => b.length)).toEqual([60_000, 5]);
    expect(received[0]!.equals(body)).toBe(true);
  });

  it('a packet too big for one API Gateway message closes the client (v5: DISCONNECT 0x95 first)', async () => {
    const device = await stockClient(listenerUrl('mqtt'), { protocolVersion: version });
    const disconnect = new Promise<IDisconnectPacket>((resolve) => device.once('disconnect', resolve));
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish(topic('big'), Buffer.alloc(100_000), { qos: 0 });
    await closed;
    if (version === 5) expect((await disconnect).reasonCode).toBe(0x95);
    expect(bridge.logs.some((line) => line.msg === 'packet too large for API Gateway; closing')).toBe(true);
  });
});

describe('connection edge cases', () => {
  it('a text frame on the WebSocket listener closes it with 1003 [MQTT-6.0.0-1]', async () => {
    const ws = new WebSocket(`${listenerUrl('ws')}/mqtt`, ['mqtt']);
    await new Promise((resolve) => ws.once('open', resolve));
    expect(ws.protocol).toBe('mqtt'); // [MQTT-6.0.0-4]
    const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    ws.send('EA4ABE1RVFQEAgA8AAJjMQ=='); // a CONNECT, but as text
    expect(await code).toBe(1003);
  });

  it('a first packet that is not CONNECT closes the TCP connection, and no upstream is opened [MQTT-3.1.0-1]', async () => {
    const before = bridge.stats.messagesUp;
    const socket = netConnect(bridge.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(Uint8Array.of(0xc0, 0x00)); // PINGREQ
    await new Promise((resolve) => socket.once('close', resolve));
    expect(bridge.stats.messagesUp).toBe(before);
  });

  it.each([4, 5] as const)(
    'a client that sends CONNECT, DISCONNECT and closes at once: the DISCONNECT follows the CONNACK, so no will (protocol %i) [MQTT-3.14.4-3]',
    async (version) => {
      const willTopic = topic('will');
      const { c: watcher, received } = await stratusClient(broker.url, version);
      await watcher.subscribeAsync(willTopic, { qos: 1 });
      const clientId = uid('gone');
      const connect = encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepAlive: 60, clientId, will: { topic: willTopic, payload: Buffer.from('will'), qos: 1, retain: false } }, version);
      const disconnect = encode({ type: 'disconnect' }, version);
      const socket = netConnect(bridge.port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(connect);
      await new Promise((resolve) => setTimeout(resolve, 20)); // a second read: held until CONNACK
      socket.end(disconnect);
      // Once its session is gone, a will would have been published: a marker sent then arrives
      // alone.
      await until(() => bridge.stats.open === 0);
      const db = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
      const sessions = new DynamoSessionStore(new MeteredDynamoDb(db), broker.tables.sessions);
      let gone = false;
      for (let i = 0; i < 300 && !gone; i++) {
        gone = (await sessions.get(clientId)) === undefined;
        if (!gone) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      db.destroy();
      expect(gone).toBe(true);
      const marker = topic('marker');
      await watcher.subscribeAsync(marker, { qos: 1 });
      await watcher.publishAsync(marker, 'marker', { qos: 1 });
      await until(() => received.some((p) => text(p) === 'marker'));
      expect(received.map(text)).toEqual(['marker']);
    },
  );

  it.each([4, 5] as const)('an upstream that refuses the upgrade (authorizer Deny, 403) gets the client a CONNACK "Not authorized", protocol %i', async (version) => {
    const denying = await startTestBroker({
      gateway: {
        authorizer: async (event) => ({
          principalId: 'nobody',
          policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }] },
        }),
      },
    });
    const refusing = await startTestBridge(denying.url, { check: false });
    try {
      const error = await mqtt
        .connectAsync(`mqtt://127.0.0.1:${refusing.port}`, { protocolVersion: version, reconnectPeriod: 0 })
        .then(() => undefined, (e: Error & { code?: number }) => e);
      expect(error?.code).toBe(version === 5 ? 0x87 : 5);
    } finally {
      await refusing.close();
      await denying.dispose();
    }
  });

  it.each([4, 5] as const)('an unreachable upstream gets the client a CONNACK "Server unavailable", protocol %i', async (version) => {
    const dead = await startTestBridge('ws://127.0.0.1:9/mqtt', { check: false });
    try {
      const error = await mqtt
        .connectAsync(`mqtt://127.0.0.1:${dead.port}`, { protocolVersion: version, reconnectPeriod: 0 })
        .then(() => undefined, (e: Error & { code?: number }) => e);
      expect(error?.code).toBe(version === 5 ? 0x88 : 3); // [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5])
      expect(dead.logs.some((line) => line.msg === 'upstream unreachable; refusing the client')).toBe(true);
    } finally {
      await dead.close();
    }
  });
});

interface Certificate {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
}

function makeCertificate(): Certificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bridge-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return { dir, certFile, keyFile, cert: readFileSync(certFile) };
}
