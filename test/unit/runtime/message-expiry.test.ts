/**
 * Message Expiry Interval on stored messages (issue 13, defect 8), end to end on the memory
 * runtime: a message that expired while it waited for a subscriber is not delivered
 * [MQTT-3.3.2-5], and one forwarded later carries the interval that remains [MQTT-3.3.2-6], on
 * every path a stored message leaves by: the resume's backlog, the queue drained by an ack, and
 * the in-flight resend. The publisher is a 5.0 client (only 5.0 sets the interval); each
 * subscriber scenario runs for 3.1.1 and 5.0 (a 3.1.1 subscriber gets no properties).
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion, PublishPacket } from '../../../lib/mqtt';
import { ackPacket, memoryRuntime, persistentSession, publishPacket, type MemoryRuntime, type TestConnection } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];
const publishes = (packets: Packet[]) => packets.filter((p): p is PublishPacket => p.type === 'publish');
const seen = (packets: Packet[]) =>
  publishes(packets).map((p) => [new TextDecoder().decode(p.payload), p.properties?.messageExpiryInterval ?? null, p.dup]);

async function publisher(rt: MemoryRuntime): Promise<{ send: (name: string, expiry?: number) => Promise<void> }> {
  const pub = await rt.connected(5, { clientId: 'pub' });
  let packetId = 1;
  return {
    send: async (name, expiry) => {
      const properties = expiry === undefined ? {} : { properties: { messageExpiryInterval: expiry } };
      await pub.send(publishPacket('plant/temp', name, 1, { packetId: packetId++, ...properties }));
    },
  };
}

async function subscriber(rt: MemoryRuntime, version: ProtocolVersion, extra: Record<string, number> = {}): Promise<TestConnection> {
  const session = persistentSession(version);
  const properties = version === 5 ? { ...session.properties, ...extra } : undefined;
  const sub = await rt.connected(version, { clientId: 'sub', ...session, ...(properties && { properties }) });
  await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/#', qos: 1 }] });
  sub.take();
  return sub;
}

describe.each(VERSIONS)('Message Expiry Interval of stored messages, subscriber protocol %i', (version) => {
  const interval = (remaining: number) => (version === 5 ? remaining : null);

  it('drops from the resume backlog what expired in the queue, and forwards the rest with what remains [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async () => {
    const rt = memoryRuntime();
    await (await subscriber(rt, version)).close();
    const pub = await publisher(rt);
    await pub.send('short', 10);
    await pub.send('long', 100);
    await pub.send('forever');
    rt.advance(30_000);
    const back = await rt.connected(version, { clientId: 'sub', ...persistentSession(version) });
    expect(seen(back.received())).toEqual([
      ['long', interval(70), false],
      ['forever', null, false],
    ]);
  });

  it('resends an unacknowledged message on resume with the interval that remains [MQTT-4.4.0-1] [MQTT-3.3.2-6]', async () => {
    const rt = memoryRuntime();
    const sub = await subscriber(rt, version);
    const pub = await publisher(rt);
    await pub.send('long', 100);
    expect(seen(sub.take())).toEqual([['long', interval(100), false]]);
    await sub.close();
    rt.advance(30_000);
    const back = await rt.connected(version, { clientId: 'sub', ...persistentSession(version) });
    expect(seen(back.received())).toEqual([['long', interval(70), true]]);
  });
});

describe('Message Expiry Interval of messages queued behind a full window, subscriber protocol 5 (Receive Maximum exists in 5.0 only)', () => {
  it('drains on the ack only what has not expired, with the interval that remains [MQTT-3.3.2-5] [MQTT-3.3.2-6] [MQTT-3.3.4-9]', async () => {
    const rt = memoryRuntime();
    const sub = await subscriber(rt, 5, { receiveMaximum: 1 });
    const pub = await publisher(rt);
    await pub.send('first');
    await pub.send('short', 10);
    await pub.send('long', 100);
    const [first] = publishes(sub.take());
    expect(seen([first as Packet])).toEqual([['first', null, false]]);
    rt.advance(30_000);
    await sub.send(ackPacket('puback', first?.packetId as number, 5));
    expect(seen(sub.take())).toEqual([['long', 70, false]]);
  });
});
