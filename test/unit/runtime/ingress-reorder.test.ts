/**
 * Restoring order before the queue (issue 12, docs/ARCHITECTURE.md "Ordered ingress"): numbered
 * frames (docs/TRANSPORT.md section 3) of one connection are handled by sequence number within a
 * batch, a frame behind one handled in an earlier batch is handled where it is, and every reorder
 * is counted (`IngressReorders`). Failures are reported in queue order: the failing frame and every
 * frame of its connection not yet handled. The consumer on the memory stores, protocol 4 and 5.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion } from '../../../lib/mqtt';
import { HandledSeqs, planConnection } from '../../../lib/runtime/ingress-order';
import type { IngressRecord } from '../../../lib/gateway/ingress';
import { batch, close, frame, idOf } from '../../helpers/ingress-batch';
import { connectPacket, memoryRuntime, publishPacket, type MemoryRuntime, type TestConnection } from '../../helpers/memory-runtime';

const subscribe = (topicFilter: string): Packet => ({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos: 1 }] });
const publish = (payload: string): Packet => publishPacket('t/1', payload, 0);
const payloads = (packets: Packet[]) => packets.filter((p) => p.type === 'publish').map((p) => Buffer.from((p as { payload: Uint8Array }).payload).toString());

/** A watcher subscribed to t/1 and a publisher connected with frame 1; both replies taken. */
async function setup(v: ProtocolVersion): Promise<{ rt: MemoryRuntime; watcher: TestConnection; pub: TestConnection }> {
  const rt = memoryRuntime();
  const watcher = await rt.open(v);
  const pub = await rt.open(v);
  await rt.handlers.ingress(
    batch(frame(watcher, [connectPacket(v, { clientId: 'w' })]), frame(watcher, [subscribe('t/1')]), frame(pub, [connectPacket(v, { clientId: 'p' })], { seq: 1 })),
  );
  watcher.take();
  pub.take();
  return { rt, watcher, pub };
}

/** The subscription store fails `times` times (the in-place retry takes one of them). */
function failSubscriptions(rt: MemoryRuntime, times: number): void {
  const put = rt.stores.subscriptions.put.bind(rt.stores.subscriptions);
  let left = times;
  rt.stores.subscriptions.put = async (...args) => {
    if (left-- > 0) throw new Error('store timed out');
    return put(...args);
  };
}

describe.each([4, 5] as const)('restoring order before the queue, protocol %i', (v: ProtocolVersion) => {
  it('handles a batch\'s numbered frames by sequence number and counts the swap [MQTT-4.6.0-5]', async () => {
    const { rt, watcher, pub } = await setup(v);
    const result = await rt.handlers.ingress(
      batch(frame(pub, [publish('a')], { seq: 2 }), frame(pub, [publish('c')], { seq: 4 }), frame(pub, [publish('b')], { seq: 3 }), frame(pub, [publish('d')], { seq: 5 })),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(payloads(watcher.take())).toEqual(['a', 'b', 'c', 'd']);
    expect(rt.metricTotal('IngressReorders')).toBe(1);
  });

  it('counts one reorder per frame that arrived behind a later one', async () => {
    const { rt, watcher, pub } = await setup(v);
    await rt.handlers.ingress(batch(frame(pub, [publish('c')], { seq: 4 }), frame(pub, [publish('a')], { seq: 2 }), frame(pub, [publish('b')], { seq: 3 })));
    expect(payloads(watcher.take())).toEqual(['a', 'b', 'c']);
    expect(rt.metricTotal('IngressReorders')).toBe(2);
  });

  it('keeps the close after the messages it follows', async () => {
    const { rt, pub } = await setup(v);
    const result = await rt.handlers.ingress(batch(frame(pub, [{ type: 'pingreq' }], { seq: 3 }), frame(pub, [{ type: 'pingreq' }], { seq: 2 }), close(pub, 1006)));
    expect(result.batchItemFailures).toEqual([]);
    expect(pub.take().map((p) => p.type)).toEqual(['pingresp', 'pingresp']);
    expect(await rt.stores.connections.get(pub.id)).toBeUndefined();
    expect(rt.metricTotal('IngressReorders')).toBe(1);
  });

  it('serves unnumbered frames in queue order, counting nothing', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(v);
    const result = await rt.handlers.ingress(batch(frame(conn, [connectPacket(v, { clientId: 'u' })]), frame(conn, [subscribe('t/1')]), frame(conn, [{ type: 'pingreq' }])));
    expect(result.batchItemFailures).toEqual([]);
    expect(conn.take().map((p) => p.type)).toEqual(['connack', 'suback', 'pingresp']);
    expect(rt.metrics).not.toContain('IngressReorders');
  });

  it('a frame behind one handled in an earlier batch is handled where it is, and counted', async () => {
    const { rt, watcher, pub } = await setup(v);
    await rt.handlers.ingress(batch(frame(pub, [publish('a')], { seq: 2 }), frame(pub, [publish('c')], { seq: 4 })));
    await rt.handlers.ingress(batch(frame(pub, [publish('b')], { seq: 3 }), frame(pub, [publish('d')], { seq: 5 })));
    expect(payloads(watcher.take())).toEqual(['a', 'c', 'b', 'd']);
    expect(rt.metricTotal('IngressReorders')).toBe(1);
  });

  it('reports a failing frame and every frame not yet handled, in queue order; the retry is no reorder', async () => {
    const { rt, watcher, pub } = await setup(v);
    failSubscriptions(rt, 2);
    // Queue order: 3, 2 (fails), 4. Handled order: 2, 3, 4: the failure leaves 2, 3 and 4 unhandled.
    const later = frame(pub, [publish('b')], { seq: 3 });
    const failing = frame(pub, [subscribe('t/2')], { seq: 2 });
    const last = frame(pub, [publish('c')], { seq: 4 });
    const result = await rt.handlers.ingress(batch(later, failing, last));
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([idOf(later), idOf(failing), idOf(last)]);
    expect(payloads(watcher.take())).toEqual([]);
    expect(rt.metricTotal('IngressReorders')).toBe(1);
    // The queue hands them out again in its own order, with their receive count raised.
    const retry = await rt.handlers.ingress(
      batch(frame(pub, [publish('b')], { seq: 3, receiveCount: 2 }), frame(pub, [subscribe('t/2')], { seq: 2, receiveCount: 2 }), frame(pub, [publish('c')], { seq: 4, receiveCount: 2 })),
    );
    expect(retry.batchItemFailures).toEqual([]);
    expect(payloads(watcher.take())).toEqual(['b', 'c']);
    expect(pub.take().map((p) => p.type)).toEqual(['suback']);
    // The retry keeps the queue's order, swap included: counted once, on the first receive.
    expect(rt.metricTotal('IngressReorders')).toBe(1);
  });

  it('does not report a frame handled before the failing one, even if it came later in the queue', async () => {
    const { rt, watcher, pub } = await setup(v);
    failSubscriptions(rt, 2);
    // Queue order: 3 (fails), 2, 4. Handled order: 2 (succeeds), 3 (fails): 3 and 4 go back.
    const failing = frame(pub, [subscribe('t/2')], { seq: 3 });
    const earlier = frame(pub, [publish('a')], { seq: 2 });
    const last = frame(pub, [publish('c')], { seq: 4 });
    const result = await rt.handlers.ingress(batch(failing, earlier, last));
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([idOf(failing), idOf(last)]);
    expect(payloads(watcher.take())).toEqual(['a']);
    const retry = await rt.handlers.ingress(batch(frame(pub, [subscribe('t/2')], { seq: 3, receiveCount: 2 }), frame(pub, [publish('c')], { seq: 4, receiveCount: 2 })));
    expect(retry.batchItemFailures).toEqual([]);
    expect(payloads(watcher.take())).toEqual(['c']);
    expect(rt.metricTotal('IngressReorders')).toBe(1);
  });

  it('a batch handed out again after it was handled (never acknowledged) is not counted late', async () => {
    const { rt, pub } = await setup(v);
    await rt.handlers.ingress(batch(frame(pub, [{ type: 'pingreq' }], { seq: 2 }), frame(pub, [{ type: 'pingreq' }], { seq: 3 })));
    await rt.handlers.ingress(batch(frame(pub, [{ type: 'pingreq' }], { seq: 2, receiveCount: 2 }), frame(pub, [{ type: 'pingreq' }], { seq: 3, receiveCount: 2 })));
    expect(rt.metrics).not.toContain('IngressReorders');
  });
});

describe('planConnection', () => {
  const message = (seq: number | undefined, receiveCount = 1): IngressRecord => ({
    type: 'MESSAGE',
    messageId: `m-${seq}`,
    connectionId: 'c',
    requestId: `r-${seq}`,
    requestTimeEpoch: 1,
    receiveCount,
    body: 'wAA=',
    isBase64Encoded: false,
    ...(seq === undefined ? {} : { seq }),
  });
  const disconnect: IngressRecord = { type: 'DISCONNECT', messageId: 'm-close', connectionId: 'c', requestId: 'r-close', requestTimeEpoch: 1, receiveCount: 1 };
  const ids = (records: readonly IngressRecord[]) => records.map((r) => r.messageId);

  it('sorts by sequence number, stable for equal numbers, closes last', () => {
    const plan = planConnection([message(3), disconnect, message(1), message(2)], undefined);
    expect(ids(plan.order)).toEqual(['m-1', 'm-2', 'm-3', 'm-close']);
    expect(plan.reorders).toBe(2);
  });

  it('leaves a connection with an unnumbered frame in queue order', () => {
    const records = [message(3), message(undefined), message(1)];
    expect(planConnection(records, undefined)).toEqual({ order: records, reorders: 0, late: [] });
  });

  it('finds the frames behind one handled in an earlier batch; redeliveries are not late', () => {
    const plan = planConnection([message(4), message(2), message(3, 2), message(6), message(5)], 3);
    expect(ids(plan.late)).toEqual(['m-2']);
    expect(plan.reorders).toBe(2); // 2 is late, 5 came behind 6
    expect(ids(plan.order)).toEqual(['m-2', 'm-3', 'm-4', 'm-5', 'm-6']);
  });
});

describe('HandledSeqs', () => {
  it('keeps the highest number handled per connection', () => {
    const seqs = new HandledSeqs();
    seqs.handled('a', 3);
    seqs.handled('a', 2);
    expect(seqs.get('a')).toBe(3);
    seqs.forget('a');
    expect(seqs.get('a')).toBeUndefined();
  });

  it('forgets the least recently handled connection beyond its capacity', () => {
    const seqs = new HandledSeqs(2);
    seqs.handled('a', 1);
    seqs.handled('b', 1);
    seqs.handled('a', 2);
    seqs.handled('c', 1);
    expect(seqs.size).toBe(2);
    expect(seqs.get('b')).toBeUndefined();
    expect(seqs.get('a')).toBe(2);
    expect(seqs.get('c')).toBe(1);
  });
});
