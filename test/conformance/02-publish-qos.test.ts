/**
 * PUBLISH and the QoS 0, 1 and 2 flows in both directions, byte by byte, for MQTT 3.1.1 and 5.0:
 * which acknowledgement comes back with which packet id, what a subscriber receives, and which
 * PUBLISH the server refuses.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PublishPacket, QoS } from '../../lib/mqtt';
import { CLOSED_BY_SERVER, VERSIONS, connected, publish, publishFrom, reasonCodeOf, settle, subscribeOne, text, topic, useBroker } from './scenario';

const broker = useBroker();

describe.each(VERSIONS)('PUBLISH, protocol %i', (version) => {
  const v5 = version === 5;

  it('acknowledges nothing for QoS 0 and delivers it with DUP 0 and no packet id [MQTT-3.3.4-1] [MQTT-4.3.1-1] [MQTT-3.3.1-2]', async () => {
    const t = topic('qos0');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 2);
    const pub = await connected(broker(), version);
    // One WebSocket message: handled in order, its replies posted together.
    await pub.send(publish(t, 'zero'), { type: 'pingreq' });
    await pub.next('pingresp');
    expect(pub.packets.map((p) => p.type)).toEqual(['connack', 'pingresp']);
    const got = await sub.next('publish');
    expect(got).toMatchObject({ topic: t, qos: 0, dup: false, retain: false });
    expect(got.packetId).toBeUndefined();
    expect(text(got)).toBe('zero');
  });

  it('answers QoS 1 with PUBACK carrying the PUBLISH\'s packet id, and sends it on with a non-zero packet id and DUP 0 [MQTT-4.3.2-4] [MQTT-2.2.1-5] [MQTT-2.2.1-4] [MQTT-4.3.2-2]', async () => {
    const t = topic('qos1');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    const pub = await connected(broker(), version);
    await pub.send(publish(t, 'one', 1, { packetId: 0x1234 }));
    expect(await pub.next('puback')).toEqual(v5 ? { type: 'puback', packetId: 0x1234, reasonCode: 0 } : { type: 'puback', packetId: 0x1234 });
    const got = await sub.next('publish');
    expect(got).toMatchObject({ topic: t, qos: 1, dup: false });
    expect(got.packetId).toBeGreaterThan(0);
    expect(text(got)).toBe('one');
  });

  it('acknowledges a QoS 1 message nobody subscribed to; v5 says 0x10 No matching subscribers [MQTT-3.4.2-1]', async () => {
    const pub = await connected(broker(), version);
    // A first level of its own: no subscription of this file shares it.
    await pub.send(publish(`nobody-${randomUUID().slice(0, 8)}/x`, 'lost', 1, { packetId: 3 }));
    expect(await pub.next('puback')).toEqual(v5 ? { type: 'puback', packetId: 3, reasonCode: 0x10 } : { type: 'puback', packetId: 3 });
  });

  it('answers QoS 2 with PUBREC, and PUBREL with PUBCOMP, both with the PUBLISH\'s packet id [MQTT-4.3.3-8] [MQTT-4.3.3-11]', async () => {
    const t = topic('qos2');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 2);
    const pub = await connected(broker(), version);
    await pub.send(publish(t, 'two', 2, { packetId: 42 }));
    expect(await pub.next('pubrec')).toMatchObject({ packetId: 42 });
    await pub.send({ type: 'pubrel', packetId: 42 });
    expect(await pub.next('pubcomp')).toMatchObject({ packetId: 42 });
    expect([...pub.of('pubrec'), ...pub.of('pubcomp')].map(reasonCodeOf)).toEqual([0, 0]);
    expect(text(await sub.next('publish'))).toBe('two');
  });

  it('acknowledges a QoS 2 PUBLISH repeated before PUBREL with PUBREC again, and delivers it once [MQTT-4.3.3-10]', async () => {
    const t = topic('qos2-dup');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    const pub = await connected(broker(), version);
    await pub.send(publish(t, 'once', 2, { packetId: 9 }));
    await pub.next('pubrec');
    await pub.send(publish(t, 'once', 2, { packetId: 9, dup: true }));
    await pub.until(() => pub.of('pubrec').length === 2);
    await pub.send({ type: 'pubrel', packetId: 9 });
    await pub.next('pubcomp');
    await settle();
    expect(pub.of('pubrec').map((p) => [p.packetId, reasonCodeOf(p)])).toEqual([[9, 0], [9, 0]]);
    expect(sub.of('publish').map(text)).toEqual(['once']);
  });

  it('treats a QoS 2 PUBLISH with a packet id already completed (PUBCOMP sent) as a new message [MQTT-4.3.3-12]', async () => {
    const t = topic('qos2-again');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    const pub = await connected(broker(), version);
    for (const payload of ['first', 'second']) {
      await pub.send(publish(t, payload, 2, { packetId: 5 }));
      await pub.until(() => pub.of('pubrec').length === pub.of('pubcomp').length + 1);
      await pub.send({ type: 'pubrel', packetId: 5 });
      await pub.until(() => pub.of('pubcomp').length === pub.of('pubrec').length);
    }
    await sub.until(() => sub.of('publish').length === 2);
    expect(sub.of('publish').map(text)).toEqual(['first', 'second']);
  });

  it('treats a QoS 1 PUBLISH with a packet id already acknowledged as a new message [MQTT-4.3.2-5]', async () => {
    const t = topic('qos1-again');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    const pub = await connected(broker(), version);
    await pub.send(publish(t, 'first', 1, { packetId: 8 }));
    await pub.next('puback');
    await pub.send(publish(t, 'second', 1, { packetId: 8, dup: true }));
    await pub.until(() => pub.of('puback').length === 2);
    await sub.until(() => sub.of('publish').length === 2);
    expect(sub.of('publish').map(text).sort()).toEqual(['first', 'second']);
  });

  it('sends QoS 2 to a subscriber: PUBLISH, then PUBREL with the same packet id in answer to PUBREC [MQTT-4.3.3-2] [MQTT-4.3.3-4]', async () => {
    const t = topic('qos2-out');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 2);
    await publishFrom(broker(), version, publish(t, 'exactly', 2, { packetId: 1 }));
    const got = await sub.next('publish');
    expect(got).toMatchObject({ qos: 2, dup: false });
    await sub.send({ type: 'pubrec', packetId: got.packetId as number });
    expect(await sub.next('pubrel')).toMatchObject({ packetId: got.packetId });
    await sub.send({ type: 'pubcomp', packetId: got.packetId as number });
    await settle();
    expect(sub.packets.map((p) => p.type)).toEqual(['connack', 'suback', 'publish', 'pubrel']);
  });

  it.each([
    [2, 1, 1],
    [1, 2, 1],
    [0, 2, 0],
  ] as const)('sends a QoS %i message to a QoS %i subscription at QoS %i, the minimum [MQTT-3.8.4-8]', async (published: QoS, granted: QoS, delivered: QoS) => {
    const t = topic('min-qos');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, granted);
    await publishFrom(broker(), version, publish(t, 'm', published, published > 0 ? { packetId: 2 } : {}));
    expect((await sub.next('publish')).qos).toBe(delivered);
  });

  it('refuses a Topic Name with a wildcard: DISCONNECT 0x90 Topic Name invalid (v5), then close [MQTT-3.3.2-2]', async () => {
    const pub = await connected(broker(), version);
    await pub.send(publish('conf/+/x', 'bad', 1, { packetId: 4 }));
    expect(await pub.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(pub.packets.slice(1)).toEqual(v5 ? [{ type: 'disconnect', reasonCode: 0x90 }] : []);
  });

  it('answers PUBREL for a packet id it does not hold with PUBCOMP and the same packet id [MQTT-4.3.3-11]', async () => {
    const raw = await connected(broker(), version);
    await raw.send({ type: 'pubrel', packetId: 777 });
    const pubcomp = await raw.next('pubcomp');
    expect(pubcomp.packetId).toBe(777);
    expect(raw.isClosed).toBe(false);
  });
});

describe('PUBLISH, protocol 5 only', () => {
  // The runtime hands the core every subscription stored under the topic's first level (the
  // candidates of the route lookup): 0x10 must come from matching, not from an empty list.
  it('says 0x10 No matching subscribers even when a subscription exists beside the topic', async () => {
    const base = topic('sibling');
    const sub = await connected(broker(), 5);
    await subscribeOne(sub, `${base}/other`, 1);
    const pub = await connected(broker(), 5);
    await pub.send(publish(`${base}/nobody`, 'lost', 1, { packetId: 3 }));
    expect(await pub.next('puback')).toEqual({ type: 'puback', packetId: 3, reasonCode: 0x10 });
  });

  it('refuses a Subscription Identifier in a PUBLISH from a client: DISCONNECT 0x82 [MQTT-3.3.4-6]', async () => {
    const pub = await connected(broker(), 5);
    await pub.send(publish(topic('subid'), 'x', 0, { properties: { subscriptionIdentifiers: [3] } }));
    expect(await pub.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(pub.packets.slice(1)).toEqual([{ type: 'disconnect', reasonCode: 0x82 }]);
  });

  it('refuses a Topic Alias when its CONNACK allowed none: DISCONNECT 0x94 [MQTT-3.2.2-18] [MQTT-3.3.2-9]', async () => {
    const pub = await connected(broker(), 5);
    await pub.send(publish(topic('alias'), 'x', 0, { properties: { topicAlias: 1 } }));
    expect(await pub.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(pub.packets.slice(1)).toEqual([{ type: 'disconnect', reasonCode: 0x94 }]);
  });

  it('forwards Payload Format Indicator, Content Type, Response Topic, Correlation Data and User Properties unaltered, in order [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]', async () => {
    const t = topic('props');
    const sub = await connected(broker(), 5);
    await subscribeOne(sub, t, 1);
    const properties = {
      payloadFormatIndicator: 1,
      contentType: 'application/json',
      responseTopic: `${t}/reply`,
      correlationData: Buffer.from([0, 1, 2, 0xff]),
      userProperties: [['b', '2'], ['a', '1'], ['b', '3']] as [string, string][],
    };
    await publishFrom(broker(), 5, publish(t, '{"on":true}', 1, { packetId: 6, properties }));
    const got: PublishPacket = await sub.next('publish');
    expect({ ...got.properties, correlationData: Buffer.from(got.properties?.correlationData ?? []) }).toEqual(properties);
  });

  it('acknowledges a QoS 1 payload that is not the UTF-8 its Payload Format Indicator claims with PUBACK 0x99, and drops it', async () => {
    const t = topic('utf8');
    const sub = await connected(broker(), 5);
    await subscribeOne(sub, t, 1);
    const pub = await connected(broker(), 5);
    await pub.send({ ...publish(t, '', 1, { packetId: 11, properties: { payloadFormatIndicator: 1 } }), payload: Uint8Array.from([0xc3, 0x28]) });
    expect(await pub.next('puback')).toEqual({ type: 'puback', packetId: 11, reasonCode: 0x99 });
    await settle();
    expect(sub.of('publish')).toEqual([]);
  });

  it('does not send a subscriber a packet larger than its Maximum Packet Size [MQTT-3.1.2-24] [MQTT-3.1.2-25]', async () => {
    const t = topic('small');
    const sub = await connected(broker(), 5, { properties: { maximumPacketSize: 128 } });
    await subscribeOne(sub, t, 0);
    await publishFrom(broker(), 5, publish(t, 'x'.repeat(500)));
    await publishFrom(broker(), 5, publish(t, 'fits'));
    await sub.next('publish');
    await settle();
    expect(sub.of('publish').map(text)).toEqual(['fits']);
  });
});
