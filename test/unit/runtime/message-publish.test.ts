/**
 * The whole `$default` path on the memory stores and MemoryDelivery: PUBLISH at each QoS from
 * one connection to a subscriber on another, the publisher's acknowledgements, and the
 * subscriber's own acknowledgements of what the broker sends it. Each scenario runs for 3.1.1 and
 * 5.0; Receive Maximum, a 5.0 feature, has its own block.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket, QoS } from '../../../lib/mqtt';
import { ackPacket, memoryRuntime, persistentSession, publishPacket, type MemoryRuntime, type TestConnection } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];
const TOPIC = 'plant/press-7/temp';

/** A subscriber to `plant/+/temp` at `qos` and a publisher, both connected. */
async function pair(rt: MemoryRuntime, version: ProtocolVersion, qos: QoS, subscriber: Partial<ConnectPacket> = {}) {
  const sub = await rt.connected(version, { clientId: 'dashboard', ...subscriber });
  await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/+/temp', qos }] });
  expect(sub.take()).toEqual([{ type: 'suback', packetId: 1, reasonCodes: [qos] }]);
  const pub = await rt.connected(version, { clientId: 'press-7' });
  return { sub, pub };
}

/** The one PUBLISH a connection received since the last take; fails on anything else. */
function onePublish(conn: TestConnection): PublishPacket {
  const packets: Packet[] = conn.take();
  expect(packets).toHaveLength(1);
  expect(packets[0].type).toBe('publish');
  return packets[0] as PublishPacket;
}

describe.each(VERSIONS)('$default path: inbound PUBLISH, protocol %i', (version) => {
  it('delivers a QoS 0 PUBLISH to a subscriber on another connection and answers the publisher nothing', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 2);
    await pub.send(publishPacket(TOPIC, '21.5', 0));
    expect(pub.take()).toEqual([]);
    expect(sub.take()).toEqual([publishPacket(TOPIC, '21.5', 0)]);
  });

  it('answers a QoS 1 PUBLISH with PUBACK and its packet id, and delivers it at QoS 1 with a packet id of the broker [MQTT-4.3.2-4] [MQTT-2.2.1-5]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 2);
    await pub.send(publishPacket(TOPIC, '21.5', 1, { packetId: 5 }));
    expect(pub.take()).toEqual([ackPacket('puback', 5, version)]);
    const copy = onePublish(sub);
    expect(copy).toEqual(publishPacket(TOPIC, '21.5', 1, { packetId: expect.any(Number) }));
  });

  it('answers a QoS 2 PUBLISH with PUBREC, delivers it once, and answers PUBREL with PUBCOMP [MQTT-4.3.3-8] [MQTT-4.3.3-11]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 2);
    await pub.send(publishPacket(TOPIC, '21.5', 2, { packetId: 6 }));
    expect(pub.take()).toEqual([ackPacket('pubrec', 6, version)]);
    expect(onePublish(sub)).toEqual(publishPacket(TOPIC, '21.5', 2, { packetId: expect.any(Number) }));
    await pub.send(ackPacket('pubrel', 6, version));
    expect(pub.take()).toEqual([ackPacket('pubcomp', 6, version)]);
    expect(sub.take()).toEqual([]);
  });

  it('answers a resent QoS 2 PUBLISH with PUBREC again but never delivers it twice [MQTT-4.3.3-10]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 2);
    await pub.send(publishPacket(TOPIC, '21.5', 2, { packetId: 7 }));
    await pub.send(publishPacket(TOPIC, '21.5', 2, { packetId: 7, dup: true }));
    expect(pub.take()).toEqual([ackPacket('pubrec', 7, version), ackPacket('pubrec', 7, version)]);
    expect(onePublish(sub).payload).toEqual(new TextEncoder().encode('21.5'));
  });

  it('treats a PUBLISH that reuses a packet id after its PUBREL as a new message [MQTT-4.3.3-12]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 2);
    await pub.send(publishPacket(TOPIC, '21.5', 2, { packetId: 8 }));
    await pub.send(ackPacket('pubrel', 8, version));
    await pub.send(publishPacket(TOPIC, '22.0', 2, { packetId: 8 }));
    expect(pub.take()).toEqual([ackPacket('pubrec', 8, version), ackPacket('pubcomp', 8, version), ackPacket('pubrec', 8, version)]);
    expect(sub.take().map((p) => (p as PublishPacket).payload)).toEqual([new TextEncoder().encode('21.5'), new TextEncoder().encode('22.0')]);
  });

  it('delivers at the lower of the message QoS and the granted QoS [MQTT-3.8.4-8]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 0);
    await pub.send(publishPacket(TOPIC, '21.5', 2, { packetId: 9 }));
    expect(sub.take()).toEqual([publishPacket(TOPIC, '21.5', 0)]);
  });

  it('does not deliver a PUBLISH to a subscriber whose filter does not match', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 1);
    await pub.send(publishPacket('plant/press-7/pressure', '3.2', 1, { packetId: 10 }));
    // The v5 code may be 0x00 or 0x10 (0x10 is a MAY, MQTT 5.0 section 3.4.2.1): not asserted here.
    expect(pub.take()).toEqual([expect.objectContaining({ type: 'puback', packetId: 10 })]);
    expect(sub.take()).toEqual([]);
  });
});

describe.each(VERSIONS)('$default path: outbound QoS 1 and 2, protocol %i', (version) => {
  it('keeps a QoS 1 message in flight for a persistent session until its PUBACK [MQTT-4.3.2-3] [MQTT-4.4.0-1]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 1, persistentSession(version));
    await pub.send(publishPacket(TOPIC, '21.5', 1, { packetId: 1 }));
    const copy = onePublish(sub);
    expect((await sub.inflight()).map((m) => [m.packetId, m.stage])).toEqual([[copy.packetId, 'publish']]);
    await sub.send(ackPacket('puback', copy.packetId as number, version));
    expect(sub.take()).toEqual([]);
    expect(await sub.inflight()).toEqual([]);
  });

  it('answers PUBREC of a QoS 2 message with PUBREL, keeps the PUBREL in flight, and ends the flow at PUBCOMP [MQTT-4.3.3-4] [MQTT-4.3.3-5]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version, 2, persistentSession(version));
    await pub.send(publishPacket(TOPIC, '21.5', 2, { packetId: 1 }));
    const copy = onePublish(sub);
    const id = copy.packetId as number;
    await sub.send(ackPacket('pubrec', id, version));
    expect(sub.take()).toEqual([ackPacket('pubrel', id, version)]);
    expect((await sub.inflight()).map((m) => [m.packetId, m.stage])).toEqual([[id, 'pubrel']]);
    await sub.send(ackPacket('pubcomp', id, version));
    expect(sub.take()).toEqual([]);
    expect(await sub.inflight()).toEqual([]);
  });
});

describe('$default path: Receive Maximum, protocol 5', () => {
  it('sends no more unacknowledged QoS 1 messages than the Receive Maximum; a PUBACK frees the slot for the next [MQTT-3.3.4-9]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, 5, 1, { properties: { receiveMaximum: 1 } });
    await pub.send(publishPacket(TOPIC, 'first', 1, { packetId: 1 }));
    await pub.send(publishPacket(TOPIC, 'second', 1, { packetId: 2 }));
    expect(pub.take()).toEqual([ackPacket('puback', 1, 5), ackPacket('puback', 2, 5)]);
    const first = onePublish(sub);
    expect(first.payload).toEqual(new TextEncoder().encode('first'));
    await sub.send(ackPacket('puback', first.packetId as number, 5));
    const second = onePublish(sub);
    expect(second.payload).toEqual(new TextEncoder().encode('second'));
    await sub.send(ackPacket('puback', second.packetId as number, 5));
    expect(sub.take()).toEqual([]);
  });

  it('frees the slot on a PUBREC with a reason code of 0x80 or more: the QoS 2 message is acknowledged, no PUBREL [MQTT-4.4.0-2]', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, 5, 2, { properties: { receiveMaximum: 1 } });
    await pub.send(publishPacket(TOPIC, 'first', 2, { packetId: 1 }));
    await pub.send(publishPacket(TOPIC, 'second', 2, { packetId: 2 }));
    const first = onePublish(sub);
    await sub.send(ackPacket('pubrec', first.packetId as number, 5, 0x80));
    expect(onePublish(sub).payload).toEqual(new TextEncoder().encode('second'));
  });
});
