/**
 * The per-client publish rate limit through the whole `$default` path on the memory stores
 * (lib/runtime/message.ts, lib/runtime/publish-rate.ts): a client publishing faster than the limit
 * has the PUBLISH that broke it refused (not routed), is disconnected (v5: DISCONNECT 0x96 Message
 * rate too high; 3.1.1: closed), and the refusal is counted as PublishRateLimited; what it
 * published before still reached its subscriber. The clock is the test's: each event arrives 1 ms
 * after the last (test/helpers/memory-runtime.ts), so a limit of 1 a second gains no token unless
 * the test moves the clock.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion, PublishPacket, QoS, Will } from '../../../lib/mqtt';
import { INGRESS_ATTRIBUTES } from '../../../lib/ingress-wire';
import type { PublishRate } from '../../../lib/runtime/publish-rate';
import { batch, close, frame } from '../../helpers/ingress-batch';
import { ackPacket, connectPacket, memoryRuntime, publishPacket, text, type MemoryRuntime, type TestConnection } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];
const TOPIC = 'plant/press-7/temp';
/** Three PUBLISH packets at once, then one a second. */
const LOW: PublishRate = { perSecond: 1, burst: 3 };

/** A subscriber to `plant/#` at QoS 1 and a publisher, both connected. */
async function pair(rt: MemoryRuntime, version: ProtocolVersion, will?: Will) {
  const sub = await rt.connected(version, { clientId: 'dashboard' });
  await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/#', qos: 1 }, { topicFilter: 'status/#', qos: 1 }] });
  expect(sub.take()).toEqual([{ type: 'suback', packetId: 1, reasonCodes: [1, 1] }]);
  const pub = await rt.connected(version, { clientId: 'press-7', ...(will === undefined ? {} : { will }) });
  return { sub, pub };
}

function payloads(conn: TestConnection): string[] {
  return conn.take().map((p: Packet) => {
    expect(p.type).toBe('publish');
    return new TextDecoder().decode((p as PublishPacket).payload);
  });
}

function qos1(payload: string, packetId: number): PublishPacket {
  return publishPacket(TOPIC, payload, 1 as QoS, { packetId });
}

/** What a client over the limit receives: DISCONNECT 0x96 in v5, nothing in 3.1.1 (just the close). */
function overLimit(version: ProtocolVersion): Packet[] {
  return version === 5 ? [{ type: 'disconnect', reasonCode: 0x96 }] : [];
}

describe.each(VERSIONS)('per-client publish rate limit, protocol %i', (version) => {
  it(`the PUBLISH over the limit is not routed and the client is disconnected${version === 5 ? ' with DISCONNECT 0x96 Message rate too high [MQTT-3.14.2-1] [MQTT-4.13.2-1]' : ' (closed: 3.1.1 has no server DISCONNECT)'}; earlier publishes were delivered, the refusal is counted`, async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const { sub, pub } = await pair(rt, version);
    for (let i = 1; i <= 3; i++) {
      await pub.send(qos1(`m${i}`, i));
      expect(pub.take()).toEqual([ackPacket('puback', i, version)]);
    }
    expect(pub.closedByServer).toBe(false);
    await pub.send(qos1('m4', 4));
    // No PUBACK for it: the broker did not take ownership of the message (MQTT 5.0 section 4.3.2).
    expect(pub.take()).toEqual(overLimit(version));
    expect(pub.closedByServer).toBe(true);
    expect(payloads(sub)).toEqual(['m1', 'm2', 'm3']);
    expect(rt.metricTotal('PublishRateLimited')).toBe(1);
  });

  it('within one frame: the packets before the one over the limit are handled and answered, the rest are not', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const { sub, pub } = await pair(rt, version);
    await pub.send(qos1('m1', 1), qos1('m2', 2), qos1('m3', 3), qos1('m4', 4), qos1('m5', 5));
    expect(pub.take()).toEqual([ackPacket('puback', 1, version), ackPacket('puback', 2, version), ackPacket('puback', 3, version), ...overLimit(version)]);
    expect(pub.closedByServer).toBe(true);
    expect(payloads(sub)).toEqual(['m1', 'm2', 'm3']);
    expect(rt.metricTotal('PublishRateLimited')).toBe(1);
  });

  it('frames the client sent before the close and the broker handles after it are dropped: no reply, no second refusal, nothing routed', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const { sub, pub } = await pair(rt, version);
    await pub.send(qos1('m1', 1), qos1('m2', 2), qos1('m3', 3), qos1('m4', 4));
    expect(pub.closedByServer).toBe(true);
    pub.take();
    const posts = pub.posts();
    rt.advance(60_000); // a full bucket by now: the frames are dropped for the close, not for the rate
    await pub.send(qos1('late', 5));
    await pub.send({ type: 'pingreq' });
    expect(pub.take()).toEqual([]);
    expect(pub.posts()).toBe(posts);
    expect(payloads(sub)).toEqual(['m1', 'm2', 'm3']);
    expect(rt.metricTotal('PublishRateLimited')).toBe(1);
  });

  it('a client that keeps to the rate is never refused: the bucket refills with the arrival times', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const { sub, pub } = await pair(rt, version);
    for (let i = 1; i <= 3; i++) await pub.send(qos1(`m${i}`, i));
    for (let i = 4; i <= 8; i++) {
      rt.advance(1000);
      await pub.send(qos1(`m${i}`, i));
    }
    expect(pub.take()).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((id) => ackPacket('puback', id, version)));
    expect(pub.closedByServer).toBe(false);
    expect(payloads(sub)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
    expect(rt.metricTotal('PublishRateLimited')).toBe(0);
  });

  it('only PUBLISH packets count: PINGREQ, SUBSCRIBE, UNSUBSCRIBE and the QoS 2 acknowledgements do not', async () => {
    const rt = memoryRuntime({ publishRate: { perSecond: 1, burst: 1 } });
    const { sub, pub } = await pair(rt, version);
    for (let i = 0; i < 5; i++) await pub.send({ type: 'pingreq' });
    await pub.send({ type: 'subscribe', packetId: 10, subscriptions: [{ topicFilter: 'cmd/press-7', qos: 1 }] });
    await pub.send({ type: 'unsubscribe', packetId: 11, topicFilters: ['cmd/press-7'] });
    await pub.send(publishPacket(TOPIC, 'once', 2, { packetId: 12 }));
    await pub.send(ackPacket('pubrel', 12, version));
    const answers = pub.take().map((p) => p.type);
    expect(answers).toEqual(['pingresp', 'pingresp', 'pingresp', 'pingresp', 'pingresp', 'suback', 'unsuback', 'pubrec', 'pubcomp']);
    expect(pub.closedByServer).toBe(false);
    expect(payloads(sub)).toEqual(['once']);
    expect(rt.metricTotal('PublishRateLimited')).toBe(0);
  });

  it('the will is published when the limit closes the connection: the client sent no DISCONNECT 0x00 [MQTT-3.1.2-8]', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const will: Will = { topic: 'status/press-7', payload: text('offline'), qos: 1, retain: false };
    const { sub, pub } = await pair(rt, version, will);
    await pub.send(qos1('m1', 1), qos1('m2', 2), qos1('m3', 3), qos1('m4', 4));
    expect(pub.closedByServer).toBe(true);
    expect(payloads(sub)).toEqual(['m1', 'm2', 'm3']);
    // API Gateway's `$disconnect` after the broker's close.
    await pub.close();
    expect(payloads(sub)).toEqual(['offline']);
  });

  it('the default limit (100 a second, bursts of 200): 200 PUBLISH packets at once pass, the 201st is refused', async () => {
    const rt = memoryRuntime();
    const { sub, pub } = await pair(rt, version);
    const burst = Array.from({ length: 200 }, (_, i) => publishPacket(TOPIC, `m${i}`, 0));
    await pub.send(...burst);
    expect(pub.closedByServer).toBe(false);
    expect(payloads(sub)).toHaveLength(200);
    await pub.send(publishPacket(TOPIC, 'one too many', 0));
    expect(pub.take()).toEqual(overLimit(version));
    expect(pub.closedByServer).toBe(true);
    expect(payloads(sub)).toEqual([]);
    expect(rt.metricTotal('PublishRateLimited')).toBe(1);
  });

  it('a rate of 0 turns the limit off', async () => {
    const rt = memoryRuntime({ publishRate: { perSecond: 0, burst: 1 } });
    const { sub, pub } = await pair(rt, version);
    await pub.send(...Array.from({ length: 500 }, (_, i) => publishPacket(TOPIC, `m${i}`, 0)));
    expect(pub.closedByServer).toBe(false);
    expect(payloads(sub)).toHaveLength(500);
    expect(rt.metricTotal('PublishRateLimited')).toBe(0);
  });

  it('each connection has its own bucket: a flooding client does not use up another client\'s limit', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const { sub, pub } = await pair(rt, version);
    const other = await rt.connected(version, { clientId: 'press-8' });
    await pub.send(qos1('a1', 1), qos1('a2', 2), qos1('a3', 3), qos1('a4', 4));
    expect(pub.closedByServer).toBe(true);
    await other.send(publishPacket('plant/press-8/temp', 'b1', 0), publishPacket('plant/press-8/temp', 'b2', 0), publishPacket('plant/press-8/temp', 'b3', 0));
    expect(other.closedByServer).toBe(false);
    expect(payloads(sub)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
  });
});

/** Sets the arrival time at the gateway of an ingress record (test/helpers/ingress-batch.ts). */
function arrivedAt(record: object, epochMs: number): object {
  const attributes = (record as { messageAttributes: Record<string, { stringValue: string }> }).messageAttributes;
  attributes[INGRESS_ATTRIBUTES.requestTimeEpoch].stringValue = String(epochMs);
  return record;
}

describe.each(VERSIONS)('per-client publish rate limit through ordered ingress, protocol %i', (version) => {
  const T = Date.UTC(2026, 11, 1, 8, 0, 0);

  async function connectedOverQueue(rt: MemoryRuntime) {
    const conn = await rt.open(version);
    await rt.handlers.ingress(batch(frame(conn, [connectPacket(version, { clientId: 'press-7' })])));
    expect(conn.take().map((p) => p.type)).toEqual(['connack']);
    return conn;
  }

  it('a backlog handled late is measured by its arrival times at the gateway: frames sent a second apart pass, in one batch', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const conn = await connectedOverQueue(rt);
    const frames = [0, 0, 0, 1000, 2000, 3000].map((offset, i) => arrivedAt(frame(conn, [qos1(`m${i}`, i + 1)]), T + offset));
    const result = await rt.handlers.ingress(batch(...frames));
    expect(result.batchItemFailures).toEqual([]);
    // v5: 0x10 No matching subscribers, as nobody subscribed (MQTT 5.0 section 3.4.2.1).
    expect(conn.take()).toEqual([1, 2, 3, 4, 5, 6].map((id) => ackPacket('puback', id, version, version === 5 ? 0x10 : 0)));
    expect(conn.closedByServer).toBe(false);
    expect(rt.metricTotal('PublishRateLimited')).toBe(0);
  });

  it('the same frames sent at once: the fourth PUBLISH is refused and the rest of the batch dropped', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const conn = await connectedOverQueue(rt);
    const frames = [0, 0, 0, 0, 0, 0].map((_, i) => arrivedAt(frame(conn, [qos1(`m${i}`, i + 1)]), T));
    const result = await rt.handlers.ingress(batch(...frames));
    expect(result.batchItemFailures).toEqual([]);
    expect(conn.take()).toEqual([...[1, 2, 3].map((id) => ackPacket('puback', id, version, version === 5 ? 0x10 : 0)), ...overLimit(version)]);
    expect(conn.closedByServer).toBe(true);
    expect(rt.metricTotal('PublishRateLimited')).toBe(1);
  });

  it('a later batch of frames sent before the close is dropped, and the close then publishes the will [MQTT-3.1.2-8]', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const watcher = await rt.connected(version, { clientId: 'watcher' });
    await watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] });
    watcher.take();
    const conn = await rt.open(version);
    const will: Will = { topic: 'status/press-7', payload: text('offline'), qos: 0, retain: false };
    await rt.handlers.ingress(batch(frame(conn, [connectPacket(version, { clientId: 'press-7', will })])));
    conn.take();
    const flood = [1, 2, 3, 4].map((i) => arrivedAt(frame(conn, [publishPacket(TOPIC, `m${i}`, 0)]), T));
    await rt.handlers.ingress(batch(...flood));
    expect(conn.closedByServer).toBe(true);
    expect(rt.metricTotal('PublishRateLimited')).toBe(1);
    const posts = conn.posts();
    // The rest of the flood, queued before the close; then the close API Gateway queued.
    const rest = [5, 6, 7].map((i) => arrivedAt(frame(conn, [publishPacket(TOPIC, `m${i}`, 0)]), T + 60_000));
    const result = await rt.handlers.ingress(batch(...rest, close(conn, 1006)));
    expect(result.batchItemFailures).toEqual([]);
    expect(conn.posts()).toBe(posts);
    expect(rt.metricTotal('PublishRateLimited')).toBe(1);
    expect(payloads(watcher)).toEqual(['m1', 'm2', 'm3', 'offline']);
    expect(await rt.stores.connections.get(conn.id)).toBeUndefined();
  });

  it('a frame tried again in place after a store failure takes its tokens once', async () => {
    const rt = memoryRuntime({ publishRate: LOW });
    const conn = await connectedOverQueue(rt);
    const put = rt.stores.subscriptions.put.bind(rt.stores.subscriptions);
    let failures = 1;
    rt.stores.subscriptions.put = async (...args) => {
      if (failures-- > 0) throw new Error('store timed out');
      return put(...args);
    };
    const subscribe: Packet = { type: 'subscribe', packetId: 9, subscriptions: [{ topicFilter: 'cmd/press-7', qos: 1 }] };
    // Two PUBLISH packets, then a SUBSCRIBE whose write fails once: the frame is handled twice.
    const failing = arrivedAt(frame(conn, [qos1('m1', 1), qos1('m2', 2), subscribe]), T);
    const later = arrivedAt(frame(conn, [qos1('m3', 3)]), T);
    const result = await rt.handlers.ingress(batch(failing, later));
    expect(result.batchItemFailures).toEqual([]);
    expect(conn.take().map((p) => p.type)).toEqual(['puback', 'puback', 'suback', 'puback']);
    expect(conn.closedByServer).toBe(false);
    expect(rt.metricTotal('PublishRateLimited')).toBe(0);
  });
});
