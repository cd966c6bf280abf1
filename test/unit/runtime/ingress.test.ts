/**
 * The ordered ingress consumer (lib/runtime/ingress.ts) on the memory stores: SQS batches as
 * Lambda's event source mapping hands them out, frames in order per connection, one reply post
 * per connection per batch, failures retried in order and dead-lettered on the last attempt.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion } from '../../../lib/mqtt';
import { batch, close, frame, idOf } from '../../helpers/ingress-batch';
import { connectPacket, memoryRuntime, publishPacket } from '../../helpers/memory-runtime';

const subscribe = (topicFilter: string): Packet => ({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos: 1 }] });

describe.each([4, 5] as const)('ordered ingress, protocol %i', (v: ProtocolVersion) => {
  it('handles one connection\'s frames in order and answers the whole batch in one post [MQTT-3.2.0-1]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(v);
    const frames = [
      frame(conn, [connectPacket(v, { clientId: 'c-1' })]),
      frame(conn, [subscribe('t/1')]),
      frame(conn, [publishPacket('t/1', 'own', 1, { packetId: 2 })]),
    ];
    const result = await rt.handlers.ingress(batch(...frames));
    expect(result.batchItemFailures).toEqual([]);
    const types = conn.received().map((p) => p.type);
    // CONNACK first; the copy for its own subscription rides after the replies already decided.
    expect(types).toEqual(['connack', 'suback', 'puback', 'publish']);
    expect(conn.posts()).toBe(1);
  });

  it('runs connections side by side: each gets its own replies', async () => {
    const rt = memoryRuntime();
    const a = await rt.open(v);
    const b = await rt.open(v);
    const result = await rt.handlers.ingress(
      batch(frame(a, [connectPacket(v, { clientId: 'a' })]), frame(b, [connectPacket(v, { clientId: 'b' })]), frame(a, [{ type: 'pingreq' }])),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(a.received().map((p) => p.type)).toEqual(['connack', 'pingresp']);
    expect(b.received().map((p) => p.type)).toEqual(['connack']);
  });

  it('reports a failing frame and every later frame of its connection, and sends what came before; the retry handles them in order', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(v);
    const other = await rt.open(v);
    await rt.handlers.ingress(batch(frame(conn, [connectPacket(v, { clientId: 'c-1' })]), frame(other, [connectPacket(v, { clientId: 'c-2' })])));
    conn.take();
    other.take();
    const put = rt.stores.subscriptions.put.bind(rt.stores.subscriptions);
    // Two failures: the frame's try in place fails too, so the queue retries it.
    let failures = 2;
    rt.stores.subscriptions.put = async (...args) => {
      if (failures-- > 0) throw new Error('store timed out');
      return put(...args);
    };
    const first = [frame(conn, [{ type: 'pingreq' }]), frame(conn, [subscribe('t/1')]), frame(conn, [{ type: 'pingreq' }])];
    const result = await rt.handlers.ingress(batch(...first, frame(other, [{ type: 'pingreq' }])));
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([idOf(first[1]), idOf(first[2])]);
    expect(conn.take().map((p) => p.type)).toEqual(['pingresp']);
    expect(other.take().map((p) => p.type)).toEqual(['pingresp']);
    expect(conn.closedByServer).toBe(false);
    const retry = await rt.handlers.ingress(batch(frame(conn, [subscribe('t/1')], 2), frame(conn, [{ type: 'pingreq' }], 2)));
    expect(retry.batchItemFailures).toEqual([]);
    expect(conn.take().map((p) => p.type)).toEqual(['suback', 'pingresp']);
  });

  it('absorbs one transient failure in place: nothing is reported, the replies keep their order', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(v);
    const put = rt.stores.subscriptions.put.bind(rt.stores.subscriptions);
    let failures = 1;
    rt.stores.subscriptions.put = async (...args) => {
      if (failures-- > 0) throw new Error('store timed out');
      return put(...args);
    };
    const result = await rt.handlers.ingress(
      batch(frame(conn, [connectPacket(v, { clientId: 'c-1' })]), frame(conn, [subscribe('t/1')]), frame(conn, [{ type: 'pingreq' }])),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(conn.take().map((p) => p.type)).toEqual(['connack', 'suback', 'pingresp']);
  });

  it('on the last attempt answers a failing frame with a close (v5: DISCONNECT 0x83), dead-letters it and drops the later frames', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(v);
    await rt.handlers.ingress(batch(frame(conn, [connectPacket(v, { clientId: 'c-1' })])));
    conn.take();
    rt.stores.subscriptions.put = async () => {
      throw new Error('store down');
    };
    const failing = frame(conn, [subscribe('t/1')], rt.deps.maxReceives);
    const later = frame(conn, [{ type: 'pingreq' }], 1);
    const closed = close(conn, '', 1);
    const result = await rt.handlers.ingress(batch(failing, later, closed));
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([idOf(failing), idOf(closed)]);
    expect(conn.take()).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x83 }] : []);
    expect(conn.closedByServer).toBe(true);
    expect(rt.metrics).toContain('IngressFailures');
  });

  it('handles a DISCONNECT packet before the close that follows it: the will is not published [MQTT-3.14.4-3]', async () => {
    const rt = memoryRuntime();
    const watcher = await rt.open(v);
    const conn = await rt.open(v);
    const will = { topic: 'status/c-1', payload: new TextEncoder().encode('gone'), qos: 1 as const, retain: false };
    await rt.handlers.ingress(
      batch(frame(watcher, [connectPacket(v, { clientId: 'w' })]), frame(watcher, [subscribe('status/#')]), frame(conn, [connectPacket(v, { clientId: 'c-1', will })])),
    );
    watcher.take();
    const result = await rt.handlers.ingress(batch(frame(conn, [{ type: 'disconnect' }]), close(conn, 1000)));
    expect(result.batchItemFailures).toEqual([]);
    expect(watcher.take()).toEqual([]);
    expect(await rt.stores.connections.get(conn.id)).toBeUndefined();
  });

  it('runs the disconnect path for a close without DISCONNECT: the will is published [MQTT-3.1.2-8]', async () => {
    const rt = memoryRuntime();
    const watcher = await rt.open(v);
    const conn = await rt.open(v);
    const will = { topic: 'status/c-1', payload: new TextEncoder().encode('gone'), qos: 0 as const, retain: false };
    await rt.handlers.ingress(
      batch(frame(watcher, [connectPacket(v, { clientId: 'w' })]), frame(watcher, [subscribe('status/#')]), frame(conn, [connectPacket(v, { clientId: 'c-1', will })])),
    );
    watcher.take();
    await rt.handlers.ingress(batch(close(conn, 1006)));
    expect(watcher.take()).toMatchObject([{ type: 'publish', topic: 'status/c-1' }]);
  });

  it('sends an invalid queue message to the dead-letter queue and handles the rest', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(v);
    const good = frame(conn, [connectPacket(v, { clientId: 'c-1' })]);
    const bad = { messageId: 'm-bad', body: 'x', attributes: {}, messageAttributes: {} };
    const result = await rt.handlers.ingress(batch(bad, good));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-bad' }]);
    expect(conn.take().map((p) => p.type)).toEqual(['connack']);
    expect(rt.metrics).toContain('IngressFailures');
  });
});
