/**
 * Delivery under throttling and timeouts, through the whole runtime on the memory adapters
 * (lib/runtime/effects/send.ts, lib/runtime/outbox.ts over MemoryDelivery's pacing on the test's
 * clock). Each scenario runs for 3.1.1 and 5.0.
 * - a subscriber throttled for less than the bound gets its copy once and stays connected;
 * - one throttled past the bound (3 s) is closed and counted (SlowSubscriberClosed); its QoS 1
 *   copy stays in flight and is resent with DUP on resume [MQTT-4.4.0-1], once;
 * - a post that timed out is never posted again on that connection: it is closed, and the resume
 *   settles the copy [MQTT-4.4.0-1];
 * - replies throttled past the bound close the sender's connection, counted the same way.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion, PublishPacket } from '../../../lib/mqtt';
import { DEFAULT_PACING } from '../../../lib/gateway/pacing';
import { ackPacket, memoryRuntime, persistentSession, publishPacket, type MemoryRuntime, type TestConnection } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];

const publishes = (packets: Packet[]) => packets.filter((p): p is PublishPacket => p.type === 'publish');
const payloads = (packets: Packet[]) => publishes(packets).map((p) => new TextDecoder().decode(p.payload));

/** A persistent subscriber to `plant/#` at QoS 1, and a publisher. */
async function setup(version: ProtocolVersion): Promise<{ rt: MemoryRuntime; sub: TestConnection; pub: TestConnection }> {
  const rt = memoryRuntime();
  const sub = await rt.connected(version, { clientId: 'sub', ...persistentSession(version) });
  await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/#', qos: 1 }] });
  sub.take();
  const pub = await rt.connected(version, { clientId: 'pub' });
  return { rt, sub, pub };
}

/** The subscriber's session resumed on a new connection: what that connection received. */
async function resume(rt: MemoryRuntime, sub: TestConnection, version: ProtocolVersion): Promise<{ next: TestConnection; packets: Packet[] }> {
  await sub.close();
  const next = await rt.open(version);
  const packets = await next.connect({ clientId: 'sub', ...persistentSession(version) });
  return { next, packets };
}

describe.each(VERSIONS)('a throttled subscriber, protocol %i', (version) => {
  it('throttled for less than the bound: the copy arrives once, paced, and the subscriber stays connected', async () => {
    const { rt, sub, pub } = await setup(version);
    rt.delivery.simulateThrottle(sub.id, { until: rt.now() + 1_000 });
    await pub.send(publishPacket('plant/temp', 'warm', 1, { packetId: 7 }));
    expect(pub.take().map((p) => p.type)).toEqual(['puback']);
    expect(payloads(sub.take())).toEqual(['warm']);
    expect(sub.closedByServer).toBe(false);
    expect(rt.metricTotal('DeliveryThrottled')).toBe(rt.delivery.throttles.length);
    expect(rt.metricTotal('DeliveryThrottled')).toBeGreaterThan(1);
    expect(rt.metricTotal('SlowSubscriberClosed')).toBe(0);
  });

  it('throttled past the bound: closed and counted; its QoS 1 copy is resent with DUP on resume, once [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async () => {
    const { rt, sub, pub } = await setup(version);
    rt.delivery.simulateThrottle(sub.id);
    const before = rt.now();
    await pub.send(publishPacket('plant/temp', 'hot', 1, { packetId: 8 }));
    // The publisher is acknowledged whatever happens to one subscriber.
    expect(pub.take().map((p) => p.type)).toEqual(['puback']);
    expect(sub.closedByServer).toBe(true);
    expect(rt.metricTotal('SlowSubscriberClosed')).toBe(1);
    expect(rt.metricTotal('DeliveryThrottled')).toBe(rt.delivery.throttles.length);
    // Given up within the bound (on the test's clock), never posted.
    expect(rt.delivery.throttles.every((t) => t.at - before <= DEFAULT_PACING.slowSubscriberMs)).toBe(true);
    expect(sub.take()).toEqual([]);
    const [kept] = await sub.inflight();
    expect(kept?.packet.topic).toBe('plant/temp');

    const { next, packets } = await resume(rt, sub, version);
    const resent = publishes(packets);
    expect(resent).toHaveLength(1);
    expect(resent[0]).toMatchObject({ topic: 'plant/temp', qos: 1, dup: true, packetId: kept?.packetId });
    await next.send(ackPacket('puback', kept?.packetId as number, version));
    expect(await next.inflight()).toEqual([]);
    expect(publishes(next.take())).toEqual([]);
  });

  it('later copies to a subscriber closed as slow are not lost: the resume sends them, in order [MQTT-4.4.0-1]', async () => {
    const { rt, sub, pub } = await setup(version);
    rt.delivery.simulateThrottle(sub.id);
    await pub.send(publishPacket('plant/temp', 'one', 1, { packetId: 1 }));
    await pub.send(publishPacket('plant/temp', 'two', 1, { packetId: 2 }));
    expect(sub.closedByServer).toBe(true);
    const { next, packets } = await resume(rt, sub, version);
    expect(payloads(packets)).toEqual(['one', 'two']);
    for (const p of publishes(packets)) await next.send(ackPacket('puback', p.packetId as number, version));
    expect(await next.inflight()).toEqual([]);
  });

  it("replies throttled past the bound close the sender's own connection, counted as slow", async () => {
    const { rt, sub, pub } = await setup(version);
    rt.delivery.simulateThrottle(pub.id);
    await pub.send(publishPacket('plant/temp', 'sent', 1, { packetId: 3 }));
    expect(pub.closedByServer).toBe(true);
    expect(pub.take()).toEqual([]); // no PUBACK: the client resends on its next connection
    expect(rt.metricTotal('SlowSubscriberClosed')).toBe(1);
    expect(payloads(sub.take())).toEqual(['sent']);
  });
});

describe.each(VERSIONS)('a post that timed out, protocol %i', (version) => {
  it.each([
    ['applied (the answer was lost)', true],
    ['not applied', false],
  ])('%s: never posted again on that connection; closed; the resume resends it with DUP [MQTT-4.4.0-1]', async (_, applied) => {
    const { rt, sub, pub } = await setup(version);
    rt.delivery.simulateTimeout(sub.id, { applied });
    await pub.send(publishPacket('plant/temp', 'maybe', 1, { packetId: 4 }));
    expect(pub.take().map((p) => p.type)).toEqual(['puback']);
    expect(sub.closedByServer).toBe(true);
    expect(rt.metricTotal('DeliveryErrors')).toBe(1);
    expect(payloads(sub.take())).toEqual(applied ? ['maybe'] : []);
    const [kept] = await sub.inflight();
    const { packets } = await resume(rt, sub, version);
    expect(publishes(packets)).toEqual([expect.objectContaining({ topic: 'plant/temp', dup: true, packetId: kept?.packetId })]);
  });
});
