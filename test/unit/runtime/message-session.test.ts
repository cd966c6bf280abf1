/**
 * The whole `$default` path on the memory stores and MemoryDelivery, with `$disconnect` where a
 * connection ends: SUBSCRIBE and retained messages, UNSUBSCRIBE, DISCONNECT versus a lost
 * connection for the will, and a persistent session across connections. Each scenario runs for
 * 3.1.1 and 5.0.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion, PublishPacket, Will } from '../../../lib/mqtt';
import { ackPacket, memoryRuntime, persistentSession, publishPacket, text, type MemoryRuntime } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];

/** A connection subscribed to `filter` at `qos`, its SUBACK taken. */
async function subscriber(rt: MemoryRuntime, version: ProtocolVersion, filter: string, qos: 0 | 1 | 2 = 1) {
  const sub = await rt.connected(version, { clientId: 'dashboard' });
  await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: filter, qos }] });
  expect(sub.take()).toEqual([{ type: 'suback', packetId: 1, reasonCodes: [qos] }]);
  return sub;
}

describe.each(VERSIONS)('$default path: SUBSCRIBE and UNSUBSCRIBE, protocol %i', (version) => {
  it('sends the retained message of a matching topic right after the SUBACK, in the same post, with RETAIN 1 [MQTT-3.3.1-9] [MQTT-3.8.4-1]', async () => {
    const rt = memoryRuntime();
    const pub = await rt.connected(version, { clientId: 'press-7' });
    await pub.send(publishPacket('status/press-7', 'running', 1, { packetId: 1, retain: true }));
    // v5: 0x10 No matching subscribers (MQTT 5.0 section 3.4.2.1); the message is retained all the same
    expect(pub.take()).toEqual([ackPacket('puback', 1, version, version === 5 ? 0x10 : 0)]);
    const sub = await rt.connected(version, { clientId: 'dashboard' });
    const before = sub.posts();
    await sub.send({ type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'status/+', qos: 1 }] });
    expect(sub.posts()).toBe(before + 1);
    expect(sub.take()).toEqual([
      { type: 'suback', packetId: 2, reasonCodes: [1] },
      publishPacket('status/press-7', 'running', 1, { retain: true, packetId: expect.any(Number) }),
    ]);
  });

  it('deletes the retained message on a retained PUBLISH with an empty payload: a new subscriber gets none [MQTT-3.3.1-6]', async () => {
    const rt = memoryRuntime();
    const pub = await rt.connected(version, { clientId: 'press-7' });
    await pub.send(publishPacket('status/press-7', 'running', 0, { retain: true }));
    await pub.send(publishPacket('status/press-7', '', 0, { retain: true }));
    const sub = await subscriber(rt, version, 'status/#');
    expect(sub.take()).toEqual([]);
  });

  // BUG (found by this test): every packet of one WebSocket message carries the message's
  // requestTimeEpoch, and a retained write replaces only an older one (RetainedStore: "succeeds
  // only over an older one"; lib/store/memory/retained-store.ts and the DynamoDB condition
  // `requestTimeEpoch < :t`). So the second retained PUBLISH to a topic in the same message is
  // 'stale' and dropped: the first one stays retained, here a message its sender deleted.
  it.fails('lets the later of two retained PUBLISHes in one WebSocket message win [MQTT-3.3.1-5] [MQTT-3.3.1-6]', async () => {
    const rt = memoryRuntime();
    const pub = await rt.connected(version, { clientId: 'press-7' });
    await pub.send(publishPacket('status/press-7', 'running', 0, { retain: true }), publishPacket('status/press-7', '', 0, { retain: true }));
    expect(await rt.stores.retained.get('status/press-7')).toBeUndefined();
  });

  it('answers UNSUBSCRIBE with UNSUBACK and its packet id, and delivers nothing more on that filter [MQTT-3.10.4-2] [MQTT-3.10.4-4] [MQTT-3.10.4-5]', async () => {
    const rt = memoryRuntime();
    const sub = await subscriber(rt, version, 'plant/+/temp');
    await sub.send({ type: 'unsubscribe', packetId: 3, topicFilters: ['plant/+/temp'] });
    expect(sub.take()).toEqual([{ type: 'unsuback', packetId: 3, reasonCodes: version === 5 ? [0x00] : [] }]);
    const pub = await rt.connected(version, { clientId: 'press-7' });
    await pub.send(publishPacket('plant/press-7/temp', '21.5', 1, { packetId: 4 }));
    expect(sub.take()).toEqual([]);
    expect(await rt.stores.subscriptions.listByClient('dashboard')).toEqual([]);
  });

  it('answers UNSUBSCRIBE of a filter it does not hold with UNSUBACK all the same (v5: 0x11 No subscription existed) [MQTT-3.10.4-5] [MQTT-3.11.3-1]', async () => {
    const rt = memoryRuntime();
    const sub = await rt.connected(version);
    await sub.send({ type: 'unsubscribe', packetId: 5, topicFilters: ['plant/#'] });
    expect(sub.take()).toEqual([{ type: 'unsuback', packetId: 5, reasonCodes: version === 5 ? [0x11] : [] }]);
  });
});

describe.each(VERSIONS)('$default and $disconnect: the will, protocol %i', (version) => {
  const will: Will = { topic: 'status/press-7', payload: text('offline'), qos: 1, retain: false };

  it('discards the will on DISCONNECT: nothing is sent back, the connection closes, and its close publishes nothing [MQTT-3.14.4-1] [MQTT-3.14.4-3]', async () => {
    const rt = memoryRuntime();
    const watcher = await subscriber(rt, version, 'status/#');
    const client = await rt.connected(version, { clientId: 'press-7', will });
    await client.send(version === 5 ? { type: 'disconnect', reasonCode: 0x00 } : { type: 'disconnect' });
    expect(client.take()).toEqual([]);
    expect(client.closedByServer).toBe(true);
    await client.close();
    expect(watcher.take()).toEqual([]);
    expect(await rt.stores.connections.get(client.id)).toBeUndefined();
  });

  it('publishes the will when the connection closes without DISCONNECT [MQTT-3.1.2-8]', async () => {
    const rt = memoryRuntime();
    const watcher = await subscriber(rt, version, 'status/#');
    const client = await rt.connected(version, { clientId: 'press-7', will });
    await client.close();
    expect(watcher.take()).toEqual([publishPacket('status/press-7', 'offline', 1, { packetId: expect.any(Number) })]);
    expect(await rt.stores.connections.get(client.id)).toBeUndefined();
  });

  it('stores a will with RETAIN 1 as the retained message of its topic [MQTT-3.1.2-17]', async () => {
    const rt = memoryRuntime();
    const client = await rt.connected(version, { clientId: 'press-7', will: { ...will, retain: true } });
    await client.close();
    const late = await rt.connected(version, { clientId: 'late' });
    await late.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'status/#', qos: 1 }] });
    expect(late.take()).toEqual([
      { type: 'suback', packetId: 1, reasonCodes: [1] },
      publishPacket('status/press-7', 'offline', 1, { retain: true, packetId: expect.any(Number) }),
    ]);
  });
});

describe.each(VERSIONS)('$default and $disconnect: a persistent session, protocol %i', (version) => {
  /** A persistent subscriber to `plant/+/temp` at QoS 1, connection lost, and a message for it. */
  async function offlineWithOneMessage(rt: MemoryRuntime) {
    const sub = await rt.connected(version, { clientId: 'dashboard', ...persistentSession(version) });
    await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/+/temp', qos: 1 }] });
    await sub.close();
    const pub = await rt.connected(version, { clientId: 'press-7' });
    await pub.send(publishPacket('plant/press-7/temp', '21.5', 1, { packetId: 1 }));
    // v3.1.1 has no code; v5 says Success: the offline subscriber's route still matches
    expect(pub.take()).toEqual([ackPacket('puback', 1, version)]);
  }

  it('delivers the QoS 1 message that arrived while the session was offline after the CONNACK of its resume [MQTT-3.1.2-5] [MQTT-4.5.0-1]', async () => {
    const rt = memoryRuntime();
    await offlineWithOneMessage(rt);
    const back = await rt.open(version);
    const received = await back.connect({ clientId: 'dashboard', ...persistentSession(version) });
    expect(received).toHaveLength(2);
    expect(received[0]).toMatchObject({ type: 'connack', sessionPresent: true, reasonCode: 0 });
    expect(received[1]).toEqual(publishPacket('plant/press-7/temp', '21.5', 1, { packetId: expect.any(Number) }));
  });

  it('resends an unacknowledged QoS 1 message on resume with DUP 1 and its packet id, and nothing once PUBACK came [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async () => {
    const rt = memoryRuntime();
    await offlineWithOneMessage(rt);
    const back = await rt.open(version);
    const [, queued] = await back.connect({ clientId: 'dashboard', ...persistentSession(version) });
    const id = (queued as PublishPacket).packetId as number;
    await back.close();
    const again = await rt.open(version);
    const resent = await again.connect({ clientId: 'dashboard', ...persistentSession(version) });
    expect(resent.slice(1)).toEqual([publishPacket('plant/press-7/temp', '21.5', 1, { packetId: id, dup: true })]);
    await again.send(ackPacket('puback', id, version));
    await again.close();
    const last = await rt.open(version);
    const after = await last.connect({ clientId: 'dashboard', ...persistentSession(version) });
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ type: 'connack', sessionPresent: true });
  });

  it('discards the session on a clean start: Session Present 0 and no queued message [MQTT-3.1.2-4] [MQTT-3.2.2-2]', async () => {
    const rt = memoryRuntime();
    await offlineWithOneMessage(rt);
    const back = await rt.open(version);
    const received = await back.connect({ clientId: 'dashboard', clean: true });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    expect(await rt.stores.subscriptions.listByClient('dashboard')).toEqual([]);
  });

  it('takes the session over from a connection still open: the old one is closed (v5: DISCONNECT 0x8E first) [MQTT-3.1.4-3]', async () => {
    const rt = memoryRuntime();
    const first = await rt.connected(version, { clientId: 'dashboard' });
    const second = await rt.open(version);
    expect((await second.connect({ clientId: 'dashboard' }))[0]).toMatchObject({ type: 'connack', reasonCode: 0 });
    expect(first.take()).toEqual(version === 5 ? [{ type: 'disconnect', reasonCode: 0x8e }] : []);
    expect(first.closedByServer).toBe(true);
    expect((await rt.stores.sessions.get('dashboard'))?.connectionId).toBe(second.id);
  });
});

describe('$default and $disconnect: DISCONNECT with Will Message, protocol 5', () => {
  it('publishes the will when DISCONNECT carries 0x04 Disconnect with Will Message (MQTT 5.0 section 3.14.2.1)', async () => {
    const rt = memoryRuntime();
    const watcher = await subscriber(rt, 5, 'status/#', 0);
    const client = await rt.connected(5, { clientId: 'press-7', will: { topic: 'status/press-7', payload: text('offline'), qos: 0, retain: false } });
    await client.send({ type: 'disconnect', reasonCode: 0x04 });
    expect(client.closedByServer).toBe(true);
    await client.close();
    expect(watcher.take()).toEqual([publishPacket('status/press-7', 'offline', 0)]);
  });
});
