/**
 * Publish/subscribe end to end: MQTT.js through the Stratus transport against local strict mode
 * (the real handlers on DynamoDB Local), each behaviour for protocol versions 4 and 5.
 */
import { randomUUID } from 'node:crypto';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { eventually } from '../helpers/eventually';

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

/** A connected client that records the messages it receives. */
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

/** Lets in-flight deliveries land before asserting that something did NOT arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

const topic = (name: string) => `plant/${randomUUID().slice(0, 8)}/${name}`;
const text = (p: IPublishPacket) => Buffer.from(p.payload).toString();

describe.each(VERSIONS)('publish/subscribe, protocol %i', (version) => {
  it.each([0, 1, 2] as const)('delivers a QoS %i message to a subscriber, at min(publish, granted) QoS [MQTT-3.8.4-8]', async (qos) => {
    const t = topic('telemetry');
    const sub = await client(version);
    await sub.c.subscribeAsync(t, { qos: 2 });
    const pub = await client(version);
    await pub.c.publishAsync(t, 'hello', { qos });
    await eventually(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({ topic: t, qos, retain: false });
    expect(text(sub.received[0])).toBe('hello');
  });

  it('a QoS 2 message is delivered exactly once [MQTT-4.3.3-10]', async () => {
    const t = topic('recipe');
    const sub = await client(version);
    await sub.c.subscribeAsync(t, { qos: 2 });
    const pub = await client(version);
    for (let i = 0; i < 5; i++) await pub.c.publishAsync(t, `r${i}`, { qos: 2 });
    await eventually(() => sub.received.length >= 5);
    await settle();
    expect(sub.received.map(text).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('matches + and # wildcards; # matches the parent level; $ topics are not matched by a leading wildcard [MQTT-4.7.2-1]', async () => {
    const root = `site-${randomUUID().slice(0, 6)}`;
    const sub = await client(version);
    await sub.c.subscribeAsync([`${root}/+/status`, `${root}/line/#`, '#'], { qos: 0 });
    const pub = await client(version);
    await pub.c.publishAsync(`${root}/press/status`, 'a');
    await pub.c.publishAsync(`${root}/line`, 'b');
    await pub.c.publishAsync(`$SYS/${root}`, 'c');
    await eventually(() => sub.received.filter((p) => p.topic.startsWith(root)).length >= 2);
    await settle();
    const mine = sub.received.filter((p) => p.topic.includes(root));
    expect(mine.map(text).sort()).toEqual(['a', 'b']);
    await sub.c.endAsync(); // its '#' would match every other test's topics
  });

  it('a client PUBLISH to a $ topic is refused: v5 PUBACK 0x87, and a $SYS/# subscriber gets nothing (MQTT 5.0 section 4.7.2)', async () => {
    const root = `$SYS/fake-${randomUUID().slice(0, 6)}`;
    const sub = await client(version);
    await sub.c.subscribeAsync(`${root}/#`, { qos: 1 });
    const pub = await client(version);
    const codes: Array<number | undefined> = [];
    pub.c.on('packetreceive', (p) => {
      if (p.cmd === 'puback') codes.push((p as { reasonCode?: number }).reasonCode);
    });
    pub.c.publish(`${root}/uptime`, 'forged', { qos: 1 }, () => undefined); // v5: the callback gets the 0x87
    await pub.c.publishAsync(`${root}/uptime`, 'forged', { qos: 0, retain: true });
    await eventually(() => codes.length === 1);
    await settle();
    expect(codes).toEqual([version === 5 ? 0x87 : undefined]); // 3.1.1 has no negative PUBACK
    expect(sub.received).toEqual([]);
    const late = await client(version);
    await late.c.subscribeAsync(`${root}/#`, { qos: 1 });
    await settle();
    expect(late.received).toEqual([]); // nothing was retained either
  });

  it('one copy per client even when several of its filters match [MQTT-3.3.4-2]', async () => {
    const t = topic('temp');
    const sub = await client(version);
    await sub.c.subscribeAsync([t, `${t.split('/').slice(0, 2).join('/')}/#`], { qos: 1 });
    const pub = await client(version);
    await pub.c.publishAsync(t, 'once', { qos: 1 });
    await eventually(() => sub.received.length === 1);
    await settle();
    expect(sub.received).toHaveLength(1);
  });

  it('after UNSUBSCRIBE nothing more arrives [MQTT-3.10.4-1]', async () => {
    const t = topic('unsub');
    const sub = await client(version);
    await sub.c.subscribeAsync(t);
    await sub.c.unsubscribeAsync(t);
    const pub = await client(version);
    await pub.c.publishAsync(t, 'late', { qos: 1 });
    await settle();
    expect(sub.received).toEqual([]);
  });

  it('a retained message is sent to a new subscriber with RETAIN 1; an empty one deletes it [MQTT-3.3.1-6] [MQTT-3.3.1-7] [MQTT-3.3.1-9]', async () => {
    const t = topic('setpoint');
    const pub = await client(version);
    await pub.c.publishAsync(t, '42', { qos: 1, retain: true });
    const first = await client(version);
    await first.c.subscribeAsync(t, { qos: 1 });
    await eventually(() => first.received.length === 1);
    expect(first.received[0]).toMatchObject({ topic: t, retain: true });
    expect(text(first.received[0])).toBe('42');
    await pub.c.publishAsync(t, '', { qos: 1, retain: true });
    const second = await client(version);
    await second.c.subscribeAsync(t, { qos: 1 });
    await settle();
    expect(second.received).toEqual([]);
  });

  it('a retained message is found by a wildcard filter', async () => {
    const root = `cell-${randomUUID().slice(0, 6)}`;
    const pub = await client(version);
    await pub.c.publishAsync(`${root}/a/state`, 'A', { qos: 1, retain: true });
    await pub.c.publishAsync(`${root}/b/state`, 'B', { qos: 1, retain: true });
    const sub = await client(version);
    await sub.c.subscribeAsync(`${root}/+/state`, { qos: 1 });
    await eventually(() => sub.received.length === 2);
    expect(sub.received.map(text).sort()).toEqual(['A', 'B']);
  });

  it('QoS 1 messages for an offline persistent session are queued and delivered on reconnect', async () => {
    const t = topic('queue');
    const clientId = `persist-${randomUUID().slice(0, 8)}`;
    const persistent: IClientOptions = { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) };
    const first = await client(version, persistent);
    await first.c.subscribeAsync(t, { qos: 1 });
    await first.c.endAsync();
    const pub = await client(version);
    await pub.c.publishAsync(t, 'while-away-1', { qos: 1 });
    await pub.c.publishAsync(t, 'while-away-2', { qos: 1 });
    const back = await client(version, persistent);
    await eventually(() => back.received.length === 2);
    expect(back.received.map(text)).toEqual(['while-away-1', 'while-away-2']);
  });

  it('a will is published when the connection closes without DISCONNECT [MQTT-3.1.2-8]', async () => {
    const t = topic('will');
    const watcher = await client(version);
    await watcher.c.subscribeAsync(t, { qos: 1 });
    const dying = await client(version, { will: { topic: t, payload: Buffer.from('offline'), qos: 1, retain: false } });
    dying.c.stream.destroy();
    await eventually(() => watcher.received.length === 1);
    expect(text(watcher.received[0])).toBe('offline');
  });

  it('no will after a normal DISCONNECT [MQTT-3.14.4-3]', async () => {
    const t = topic('nowill');
    const watcher = await client(version);
    await watcher.c.subscribeAsync(t, { qos: 1 });
    const leaving = await client(version, { will: { topic: t, payload: Buffer.from('offline'), qos: 1, retain: false } });
    await leaving.c.endAsync();
    await settle();
    expect(watcher.received).toEqual([]);
  });
});

describe('MQTT 5 delivery features', () => {
  it('No Local: a client does not receive its own messages [MQTT-3.8.3-3]', async () => {
    const t = topic('nolocal');
    const me = await client(5);
    await me.c.subscribeAsync(t, { qos: 1, nl: true });
    await me.c.publishAsync(t, 'mine', { qos: 1 });
    await settle();
    expect(me.received).toEqual([]);
  });

  it('passes properties through unchanged and carries the subscription identifier [MQTT-3.3.4-3]', async () => {
    const t = topic('props');
    const sub = await client(5);
    await sub.c.subscribeAsync(t, { qos: 1, properties: { subscriptionIdentifier: 7 } });
    const pub = await client(5);
    await pub.c.publishAsync(t, '{}', {
      qos: 1,
      properties: { contentType: 'application/json', responseTopic: 'reply/here', correlationData: Buffer.from([1, 2, 3]), userProperties: { line: '3' } },
    });
    await eventually(() => sub.received.length === 1);
    const props = sub.received[0].properties ?? {};
    expect(props).toMatchObject({ contentType: 'application/json', responseTopic: 'reply/here', userProperties: { line: '3' }, subscriptionIdentifier: 7 });
    expect(Buffer.from(props.correlationData as Buffer)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('Retain Handling 2 sends no retained messages at subscribe [MQTT-3.3.1-11]', async () => {
    const t = topic('rh2');
    const pub = await client(5);
    await pub.c.publishAsync(t, 'kept', { qos: 1, retain: true });
    const sub = await client(5);
    await sub.c.subscribeAsync(t, { qos: 1, rh: 2 });
    await settle();
    expect(sub.received).toEqual([]);
  });

  it('a shared subscription delivers each message to one member of the group', async () => {
    const t = topic('jobs');
    const members = [await client(5), await client(5)];
    for (const m of members) await m.c.subscribeAsync(`$share/workers/${t}`, { qos: 1 });
    const pub = await client(5);
    for (let i = 0; i < 6; i++) await pub.c.publishAsync(t, `job-${i}`, { qos: 1 });
    await eventually(() => members[0].received.length + members[1].received.length === 6);
    await settle();
    const all = [...members[0].received, ...members[1].received].map(text).sort();
    expect(all).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4', 'job-5']);
  });

  it('PUBACK says No matching subscribers (0x10) when nobody subscribed', async () => {
    const pub = await client(5);
    const ack = await new Promise<number | undefined>((resolve) => {
      pub.c.on('packetreceive', (p) => {
        if (p.cmd === 'puback') resolve((p as { reasonCode?: number }).reasonCode);
      });
      // A root of its own: the tests that subscribe to '#' end their clean sessions before this one.
      pub.c.publish(`nobody-${randomUUID().slice(0, 8)}/x`, 'x', { qos: 1 }, () => undefined);
    });
    expect(ack).toBe(0x10);
  });
});
