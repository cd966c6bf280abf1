/**
 * Delivery features end to end, with a raw client where MQTT.js would hide the behaviour (it
 * acknowledges by itself and validates filters before sending): subscription options, flow
 * control, message expiry, resend with DUP, and the queue bound. Local strict mode on DynamoDB
 * Local, protocol 4 and 5 where the feature exists in both.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDecoder, decode, encode, type ConnectPacket, type Packet, type ProtocolVersion, type PublishPacket } from '../../lib/mqtt';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { eventually } from '../helpers/eventually';

const VERSIONS: ProtocolVersion[] = [4, 5];
const MAX_QUEUED = 2;
let broker: TestBroker;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  broker = await startTestBroker({ maxQueued: MAX_QUEUED });
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await broker?.dispose();
});

/** A client speaking the Stratus framing with our codec: it acknowledges only when told to. */
class Raw {
  readonly packets: Packet[] = [];
  private constructor(
    private readonly ws: WebSocket,
    readonly version: ProtocolVersion,
  ) {
    const decoder = createDecoder({ protocolVersion: version });
    ws.on('message', (data) => this.packets.push(...decode(decoder, Buffer.from(String(data), 'base64')).packets));
  }

  static async connect(version: ProtocolVersion, fields: Partial<ConnectPacket> = {}): Promise<Raw> {
    const ws = new WebSocket(broker.url, 'mqtt');
    sockets.push(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const raw = new Raw(ws, version);
    const connect: ConnectPacket = {
      type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepAlive: 60,
      clientId: `raw-${randomUUID().slice(0, 8)}`, ...fields,
    };
    raw.send(connect);
    await eventually(() => raw.packets.some((p) => p.type === 'connack'));
    return raw;
  }

  send(...packets: Packet[]): void {
    this.ws.send(Buffer.concat(packets.map((p) => encode(p, this.version))).toString('base64'));
  }

  async subscribe(filter: string, qos: 0 | 1 | 2, options: { noLocal?: boolean; retainAsPublished?: boolean } = {}): Promise<number[]> {
    const packetId = 1 + Math.floor(Math.random() * 60000);
    this.send({ type: 'subscribe', packetId, subscriptions: [{ topicFilter: filter, qos, ...(this.version === 5 ? { noLocal: false, retainAsPublished: false, retainHandling: 0, ...options } : {}) }] });
    await eventually(() => this.packets.some((p) => p.type === 'suback' && p.packetId === packetId));
    return (this.packets.find((p) => p.type === 'suback' && p.packetId === packetId) as { reasonCodes: number[] }).reasonCodes;
  }

  publishes(): PublishPacket[] {
    return this.packets.filter((p): p is PublishPacket => p.type === 'publish');
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.terminate();
    });
  }
}

async function publish(version: ProtocolVersion, topic: string, payload: string, qos: 0 | 1 | 2, extra: Partial<PublishPacket> = {}): Promise<void> {
  const pub = await Raw.connect(version);
  pub.send({ type: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...(qos > 0 ? { packetId: 7 } : {}), ...extra });
  if (qos === 1) await eventually(() => pub.packets.some((p) => p.type === 'puback'));
  if (qos === 2) await eventually(() => pub.packets.some((p) => p.type === 'pubrec'));
  await pub.close();
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));
const topic = (name: string) => `cell/${randomUUID().slice(0, 8)}/${name}`;
const text = (p: PublishPacket) => Buffer.from(p.payload).toString();

describe.each(VERSIONS)('subscriptions, protocol %i', (version) => {
  it('an invalid topic filter fails with 0x8F (v5) or 0x80 (3.1.1), the others are granted [MQTT-3.8.4-6]', async () => {
    const raw = await Raw.connect(version);
    expect(await raw.subscribe('a/#/b', 1)).toEqual([version === 5 ? 0x8f : 0x80]);
    expect(await raw.subscribe('a/+/b', 1)).toEqual([1]);
  });

  it('a repeated filter replaces the subscription: the new granted QoS applies, one copy [MQTT-3.8.4-3]', async () => {
    const t = topic('replace');
    const raw = await Raw.connect(version);
    await raw.subscribe(t, 0);
    await raw.subscribe(t, 1);
    await publish(version, t, 'once', 1);
    await eventually(() => raw.publishes().length === 1);
    await settle();
    expect(raw.publishes()).toHaveLength(1);
    expect(raw.publishes()[0].qos).toBe(1);
  });

  it('unacknowledged QoS 1 messages are resent with DUP 1 when the session resumes [MQTT-4.4.0-1]', async () => {
    const t = topic('resend');
    const clientId = `dup-${randomUUID().slice(0, 8)}`;
    const persistent: Partial<ConnectPacket> = { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) };
    const first = await Raw.connect(version, persistent);
    await first.subscribe(t, 1);
    await publish(version, t, 'must-arrive', 1);
    await eventually(() => first.publishes().length === 1);
    const sent = first.publishes()[0];
    await first.close(); // no PUBACK
    const again = await Raw.connect(version, persistent);
    await eventually(() => again.publishes().length === 1);
    expect(again.publishes()[0]).toMatchObject({ dup: true, packetId: sent.packetId, topic: t });
    expect(text(again.publishes()[0])).toBe('must-arrive');
  });

  it(`the offline queue holds ${MAX_QUEUED} messages; beyond the bound new ones are dropped and counted`, async () => {
    const t = topic('bound');
    const clientId = `bound-${randomUUID().slice(0, 8)}`;
    const persistent: Partial<ConnectPacket> = { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) };
    const first = await Raw.connect(version, persistent);
    await first.subscribe(t, 1);
    await first.close();
    for (const n of ['m1', 'm2', 'm3']) await publish(version, t, n, 1);
    const again = await Raw.connect(version, persistent);
    await eventually(() => again.publishes().length >= MAX_QUEUED);
    await settle();
    expect(again.publishes().map(text)).toEqual(['m1', 'm2']);
  });
});

describe('MQTT 5 delivery features', () => {
  it('UNSUBACK says No subscription existed (0x11) for an unknown filter [MQTT-3.11.3-1]', async () => {
    const raw = await Raw.connect(5);
    const t = topic('known');
    await raw.subscribe(t, 1);
    raw.send({ type: 'unsubscribe', packetId: 9, topicFilters: [t, topic('unknown')] });
    await eventually(() => raw.packets.some((p) => p.type === 'unsuback'));
    expect(raw.packets.find((p) => p.type === 'unsuback')).toMatchObject({ reasonCodes: [0x00, 0x11] });
  });

  it('Retain As Published keeps the RETAIN flag of a live message; without it RETAIN is 0 [MQTT-3.3.1-12/-13]', async () => {
    const t = topic('rap');
    const keep = await Raw.connect(5);
    await keep.subscribe(t, 1, { retainAsPublished: true });
    const plain = await Raw.connect(5);
    await plain.subscribe(t, 1);
    await publish(5, t, 'flagged', 1, { retain: true });
    await eventually(() => keep.publishes().length === 1 && plain.publishes().length === 1);
    expect(keep.publishes()[0].retain).toBe(true);
    expect(plain.publishes()[0].retain).toBe(false);
  });

  it('sends no more unacknowledged QoS 1 messages than the client\'s Receive Maximum [MQTT-3.3.4-9]', async () => {
    const t = topic('window');
    const raw = await Raw.connect(5, { properties: { receiveMaximum: 1 } });
    await raw.subscribe(t, 1);
    for (const n of ['w1', 'w2', 'w3']) await publish(5, t, n, 1);
    await eventually(() => raw.publishes().length === 1);
    await settle();
    expect(raw.publishes()).toHaveLength(1);
    for (let i = 1; i <= 3; i++) {
      const last = raw.publishes()[i - 1];
      raw.send({ type: 'puback', packetId: last.packetId as number, reasonCode: 0 });
      if (i < 3) await eventually(() => raw.publishes().length === i + 1);
    }
    expect(raw.publishes().map(text).sort()).toEqual(['w1', 'w2', 'w3']);
  });

  it('a queued message whose expiry interval has passed is not delivered; a live one carries the remaining interval [MQTT-3.3.2-5/-6]', async () => {
    const t = topic('expiry');
    const clientId = `exp-${randomUUID().slice(0, 8)}`;
    const persistent: Partial<ConnectPacket> = { clientId, clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await Raw.connect(5, persistent);
    await first.subscribe(t, 1);
    await first.close();
    await publish(5, t, 'stale', 1, { properties: { messageExpiryInterval: 1 } });
    await publish(5, t, 'fresh', 1, { properties: { messageExpiryInterval: 60 } });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const again = await Raw.connect(5, persistent);
    await eventually(() => again.publishes().length >= 1);
    await settle();
    expect(again.publishes().map(text)).toEqual(['fresh']);
    expect(again.publishes()[0].properties?.messageExpiryInterval).toBeLessThanOrEqual(59);
  });
});
