/**
 * Late SUBSCRIBE and UNSUBSCRIBE invocations of a superseded connection (issue 13 defect 2), on
 * the whole runtime over the memory stores. The memory gateway does not send `$disconnect` on
 * its own, so the old connection's record is still there when its late packet is handled: exactly
 * the window AWS leaves between a takeover and the old connection's `$disconnect`.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket } from '../../../lib/mqtt';
import { memoryRuntime, type MemoryRuntime, type TestConnection } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];
const CLIENT = 'sensor-7';

const subscribe = (packetId: number, topicFilter: string, qos: 0 | 1 | 2 = 1): Packet => ({
  type: 'subscribe',
  packetId,
  subscriptions: [{ topicFilter, qos }],
});
const publishes = (conn: TestConnection) => conn.take().filter((p): p is PublishPacket => p.type === 'publish');

/** A CONNECT for CLIENT: a persistent session (v5: expiry 1 h; v4: Clean Session 0) unless `clean`. */
function connectFields(version: ProtocolVersion, clean: boolean): Partial<ConnectPacket> {
  if (version === 5) return { clientId: CLIENT, clean, properties: { sessionExpiryInterval: 3600 } };
  return { clientId: CLIENT, clean };
}

async function publishFrom(rt: MemoryRuntime, version: ProtocolVersion, topic: string): Promise<void> {
  const pub = await rt.connected(version);
  await pub.send({ type: 'publish', topic, qos: 1, packetId: 9, retain: false, dup: false, payload: new TextEncoder().encode('x') });
}

describe.each(VERSIONS)('a superseded connection cannot act on the new session (issue 13 defect 2), protocol %i', (version) => {
  it('[MQTT-3.1.4-3] a late SUBSCRIBE after a takeover with Clean Start 1 is refused: no SUBACK, the old connection is closed, nothing stored', async () => {
    const rt = memoryRuntime();
    const old = await rt.connected(version, connectFields(version, false));
    const live = await rt.connected(version, connectFields(version, true));
    await live.send(subscribe(1, 'plant/+/temp', 1));
    expect(live.take().map((p) => p.type)).toEqual(['suback']);

    await old.send(subscribe(2, 'plant/7/temp', 0));
    expect(old.take().filter((p) => p.type === 'suback')).toEqual([]);
    expect(old.closedByServer).toBe(true);
    expect((await rt.stores.subscriptions.listByClient(CLIENT)).map((r) => [r.filter, r.connection?.connectionId])).toEqual([
      ['plant/+/temp', live.id],
    ]);

    await publishFrom(rt, version, 'plant/7/temp');
    expect(publishes(live).map((p) => [p.topic, p.qos])).toEqual([['plant/7/temp', 1]]);
  });

  it('[MQTT-3.8.4-3] a late SUBSCRIBE after a resume (same session epoch) cannot point the subscription at the dead connection', async () => {
    const rt = memoryRuntime();
    const old = await rt.connected(version, connectFields(version, false));
    await old.send(subscribe(1, 'plant/7/temp', 1));
    old.take();
    const live = await rt.connected(version, connectFields(version, false));
    live.take();

    await old.send(subscribe(2, 'plant/7/temp', 0));
    expect(old.take().filter((p) => p.type === 'suback')).toEqual([]);
    const [record] = await rt.stores.subscriptions.listByClient(CLIENT);
    expect([record.qos, record.connection?.connectionId]).toEqual([1, live.id]);

    // the copy is not swallowed by a record pointing at the old connection
    await publishFrom(rt, version, 'plant/7/temp');
    expect(publishes(live).map((p) => p.topic)).toEqual(['plant/7/temp']);
  });

  it('[MQTT-3.10.4-1] a late UNSUBSCRIBE after a resume is refused: the session keeps its subscription', async () => {
    const rt = memoryRuntime();
    const old = await rt.connected(version, connectFields(version, false));
    await old.send(subscribe(1, 'plant/#', 1));
    old.take();
    const live = await rt.connected(version, connectFields(version, false));
    live.take();

    await old.send({ type: 'unsubscribe', packetId: 3, topicFilters: ['plant/#'] });
    expect(old.take().filter((p) => p.type === 'unsuback')).toEqual([]);
    expect(old.closedByServer).toBe(true);
    expect((await rt.stores.subscriptions.listByClient(CLIENT)).map((r) => r.filter)).toEqual(['plant/#']);

    await publishFrom(rt, version, 'plant/3/flow');
    expect(publishes(live).map((p) => p.topic)).toEqual(['plant/3/flow']);
  });
});
