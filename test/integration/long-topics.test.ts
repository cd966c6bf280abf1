/**
 * Topics and filters longer than DynamoDB's key limits, end to end (issue 13 defect 6): MQTT.js
 * through the Stratus transport against local strict mode on DynamoDB Local, for protocol 4 and
 * 5. A 1.5 KB topic is valid MQTT [MQTT-1.5.4-1] but over DynamoDB's 1,024-byte sort key limit;
 * before the fix a retained QoS 1 PUBLISH to it got DISCONNECT 0x83 and no PUBACK, so the client
 * resent it after every reconnect, forever.
 */
import { randomUUID } from 'node:crypto';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const VERSIONS: ProtocolVersion[] = [4, 5];
let broker: TestBroker;
const open: MqttClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
});

afterAll(async () => {
  for (const c of open) c.end(true);
  await broker?.dispose();
});

async function client(version: ProtocolVersion, options: IClientOptions = {}) {
  const c = connect(broker.url, { protocolVersion: version, clientId: `c-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...options });
  open.push(c);
  const received: IPublishPacket[] = [];
  c.on('message', (_topic, _payload, packet) => received.push(packet));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return { c, received };
}

describe.each(VERSIONS)('topics and filters over DynamoDB key limits, protocol %i', (version) => {
  it('[MQTT-1.5.4-1] [MQTT-3.3.1-5] a retained QoS 1 PUBLISH to a 1.5 KB topic is acknowledged, kept and sent to a new subscription', async () => {
    const root = `long-${randomUUID().slice(0, 8)}`;
    const topic = `${root}/${'x'.repeat(1500)}/temp`;
    const pub = await client(version);
    let closed = false;
    pub.c.on('close', () => (closed = true));
    await pub.c.publishAsync(topic, 'retained', { qos: 1, retain: true }); // resolves on PUBACK
    expect(closed).toBe(false);

    const sub = await client(version);
    await sub.c.subscribeAsync(`${root}/${'x'.repeat(1500)}/+`, { qos: 1 });
    await eventually(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({ topic, qos: 1, retain: true });
  });

  it('[MQTT-3.8.4-1] a SUBSCRIBE to a 1.5 KB filter is granted and routes live messages; UNSUBSCRIBE removes it [MQTT-3.10.4-1]', async () => {
    const filter = `long-${randomUUID().slice(0, 8)}/${'y'.repeat(1500)}/#`;
    const marker = `marker-${randomUUID().slice(0, 8)}`;
    const sub = await client(version);
    await sub.c.subscribeAsync(marker, { qos: 1 });
    const granted = await sub.c.subscribeAsync(filter, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    const pub = await client(version);
    const topic = filter.replace('/#', '/a/b');
    await pub.c.publishAsync(topic, 'live', { qos: 1 });
    await eventually(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({ topic, qos: 1 });
    await sub.c.unsubscribeAsync(filter);
    // routed before its PUBACK; the marker, published after it, arrives after anything it routed
    await pub.c.publishAsync(topic, 'after', { qos: 1 });
    await pub.c.publishAsync(marker, 'm', { qos: 1 });
    await eventually(() => sub.received.some((p) => p.topic === marker));
    expect(sub.received.map((p) => p.topic)).toEqual([topic, marker]);
  });
});
