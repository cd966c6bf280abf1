/**
 * Local mode's swap before the queue (lib/local/ingress-swap.ts, the gateway option
 * `swapFraction`): a held frame goes right behind its connection's next frame, both as one unit of
 * the FIFO emulation so they share a batch; a held frame is never lost, nor left behind its close.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { INGRESS_ATTRIBUTES } from '../../../lib/ingress-wire';
import { FifoQueue, type IngressSend, type Received } from '../../../lib/local/ingress-queue';
import { IngressSwap, SWAP_HOLD_MS } from '../../../lib/local/ingress-swap';
import { OrderedIngress } from '../../../lib/local/ordered-ingress';
import type { ConnectionContext } from '../../../lib/local/events';
import type { SqsEvent } from '../../../lib/local/sqs-event';
import { silentLogger } from '../../../lib/log';

let request = 0;
function frame(groupId: string, body: string): IngressSend {
  return { groupId, deduplicationId: `req-${request++}`, body, attributes: { [INGRESS_ATTRIBUTES.eventType]: 'MESSAGE' } };
}
const bodies = (batch: readonly Received[]) => batch.map((r) => r.message.send.body);
/** Draws that hold exactly the frames whose index is listed. */
const holdAt = (...indexes: number[]) => {
  let draw = 0;
  return () => (indexes.includes(draw++) ? 0 : 1);
};

describe('FifoQueue.sendTogether', () => {
  it('keeps messages sent together in one batch, leaving them for the next receive when they do not fit', () => {
    const queue = new FifoQueue();
    for (let i = 0; i < 9; i++) queue.send(frame('A', `a${i}`));
    queue.sendTogether([frame('A', 'a10'), frame('A', 'a9')]);
    const first = queue.receive();
    expect(bodies(first)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8']);
    queue.settle(first, new Set());
    expect(bodies(queue.receive())).toEqual(['a10', 'a9']);
  });

  it('refuses more messages than one batch holds', () => {
    expect(() => new FifoQueue({ batchSize: 2 }).sendTogether([frame('A', '1'), frame('A', '2'), frame('A', '3')])).toThrow(RangeError);
  });
});

describe('IngressSwap', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a held frame right behind its connection\'s next frame, in one unit, and counts the swap', () => {
    const queue = new FifoQueue();
    const swap = new IngressSwap(queue, { fraction: 0.5, random: holdAt(1) });
    for (const body of ['1', '2', '3', '4']) swap.frame(frame('A', body));
    expect(bodies(queue.receive())).toEqual(['1', '3', '2', '4']);
    expect(swap.swaps).toBe(1);
  });

  it('swaps per connection: another connection\'s frame does not release a held one', () => {
    const queue = new FifoQueue();
    const swap = new IngressSwap(queue, { fraction: 0.5, random: holdAt(0) });
    swap.frame(frame('A', 'a1'));
    swap.frame(frame('B', 'b1'));
    swap.frame(frame('A', 'a2'));
    // B's frame went first (A's was held): the oldest group comes first in a batch.
    expect(bodies(queue.receive())).toEqual(['b1', 'a2', 'a1']);
    expect(swap.swaps).toBe(1);
  });

  it('lets a held frame go alone when no frame follows in time: no swap', () => {
    const queue = new FifoQueue();
    const swap = new IngressSwap(queue, { fraction: 1, random: () => 0 });
    swap.frame(frame('A', '1'));
    expect(queue.depth).toBe(0);
    vi.advanceTimersByTime(SWAP_HOLD_MS);
    expect(bodies(queue.receive())).toEqual(['1']);
    expect(swap.swaps).toBe(0);
  });

  it('writes a held frame before its connection\'s close, and every held frame on release', () => {
    const queue = new FifoQueue();
    const swap = new IngressSwap(queue, { fraction: 1, random: () => 0 });
    swap.frame(frame('A', 'a1'));
    swap.frame(frame('B', 'b1'));
    swap.release('A');
    queue.send(frame('A', 'close'));
    swap.releaseAll();
    expect(bodies(queue.receive())).toEqual(['a1', 'close', 'b1']);
    vi.advanceTimersByTime(SWAP_HOLD_MS);
    expect(queue.depth).toBe(3);
  });

  it('never holds with fraction 0, and refuses a fraction outside 0..1', () => {
    const queue = new FifoQueue();
    const swap = new IngressSwap(queue, { fraction: 0, random: () => 0 });
    swap.frame(frame('A', '1'));
    expect(queue.depth).toBe(1);
    expect(() => new IngressSwap(queue, { fraction: 1.5 })).toThrow(RangeError);
  });
});

describe('OrderedIngress with swapFraction', () => {
  it('hands a swapped pair to the consumer in one batch, the close after both', async () => {
    const events: SqsEvent[] = [];
    const options = { ingressConsumers: 1, visibilityTimeoutMs: 100, maxReceiveCount: 5, jitterMs: 0, swapFraction: 0.5 };
    const ingress = new OrderedIngress(async (event) => void events.push(event), options, silentLogger, holdAt(0, 2));
    const context = { connectionId: 'conn-1=' } as ConnectionContext;
    for (const body of ['1:AA==', '2:AA==', '3:AA==']) ingress.frame(context, body, false, Date.now());
    ingress.close(context, 1000, Date.now());
    await ingress.stop(1_000);
    expect(events.map((e) => e.Records.map((r) => r.body))).toEqual([['2:AA==', '1:AA==', '3:AA==', 'DISCONNECT']]);
    expect(ingress.swaps).toBe(1);
  });
});
