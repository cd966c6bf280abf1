/**
 * Local mode's SQS FIFO emulation (lib/local/ingress-queue.ts): groups in order, one batch per
 * group in flight, batches across groups, visibility timeout, redrive to the dead-letter queue,
 * deduplication.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FifoQueue, type DeadLetter, type IngressSend, type Received } from '../../../lib/local/ingress-queue';

let dedup = 0;
function msg(groupId: string, body: string, deduplicationId = `r${dedup++}`): IngressSend {
  return { groupId, deduplicationId, body, attributes: { stratusEventType: 'MESSAGE' } };
}
const bodies = (batch: readonly Received[]) => batch.map((r) => r.message.send.body);
const none = new Set<string>();
const ids = (batch: readonly Received[]) => new Set(batch.map((r) => r.message.messageId));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FifoQueue: order within a group', () => {
  it('hands out one group in send order', () => {
    const queue = new FifoQueue();
    for (let i = 0; i < 5; i++) queue.send(msg('A', `a${i}`));
    expect(bodies(queue.receive())).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
  });

  it('hands out no later message of a group while one of it is in flight', () => {
    const queue = new FifoQueue({ batchSize: 1 });
    queue.send(msg('A', 'a0'));
    queue.send(msg('A', 'a1'));
    const first = queue.receive();
    expect(bodies(first)).toEqual(['a0']);
    expect(queue.receive()).toEqual([]);
    queue.send(msg('A', 'a2'));
    expect(queue.receive()).toEqual([]);
    queue.settle(first, none);
    expect(bodies(queue.receive())).toEqual(['a1']);
  });

  it('a group is free again once all of its batch is deleted', () => {
    const queue = new FifoQueue();
    queue.send(msg('A', 'a0'));
    const batch = queue.receive();
    queue.send(msg('A', 'a1'));
    expect(queue.receive()).toEqual([]);
    queue.settle(batch, none);
    expect(bodies(queue.receive())).toEqual(['a1']);
    expect(queue.depth).toBe(1);
  });
});

describe('FifoQueue: batches across groups', () => {
  it('fills a batch with as much of one group as possible, oldest group first, then the next', () => {
    const queue = new FifoQueue();
    queue.send(msg('B', 'b0'));
    queue.send(msg('A', 'a0'));
    queue.send(msg('B', 'b1'));
    queue.send(msg('C', 'c0'));
    queue.send(msg('A', 'a1'));
    expect(bodies(queue.receive())).toEqual(['b0', 'b1', 'a0', 'a1', 'c0']);
  });

  it('takes at most batchSize messages; the next receive skips the groups in flight', () => {
    const queue = new FifoQueue();
    for (let i = 0; i < 6; i++) for (const g of ['A', 'B', 'C']) queue.send(msg(g, `${g}${i}`));
    const first = queue.receive();
    expect(bodies(first)).toEqual(['A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'B0', 'B1', 'B2', 'B3']);
    // B is in flight (B4, B5 wait behind it): only C is available.
    expect(bodies(queue.receive())).toEqual(['C0', 'C1', 'C2', 'C3', 'C4', 'C5']);
    expect(queue.receive()).toEqual([]);
    queue.settle(first, none);
    expect(bodies(queue.receive())).toEqual(['B4', 'B5']);
  });

  it('refuses a batch size Lambda would not use for FIFO', () => {
    expect(() => new FifoQueue({ batchSize: 11 })).toThrow(RangeError);
    expect(() => new FifoQueue({ batchSize: 0 })).toThrow(RangeError);
  });
});

describe('FifoQueue: failures and the visibility timeout', () => {
  it('a failed message comes back, in order and before later ones, once its visibility timeout has passed', () => {
    const queue = new FifoQueue({ visibilityTimeoutMs: 1000 });
    queue.send(msg('A', 'a0'));
    queue.send(msg('A', 'a1'));
    queue.send(msg('A', 'a2'));
    const batch = queue.receive();
    queue.send(msg('A', 'a3'));
    // a0 handled; a1 failed, and the consumer reports every later message of the group.
    queue.settle(batch, new Set(batch.slice(1).map((r) => r.message.messageId)));
    expect(queue.receive()).toEqual([]);
    vi.advanceTimersByTime(999);
    expect(queue.receive()).toEqual([]);
    vi.advanceTimersByTime(1);
    const again = queue.receive();
    expect(bodies(again)).toEqual(['a1', 'a2', 'a3']);
    expect(again.map((r) => r.message.receiveCount)).toEqual([2, 2, 1]);
  });

  it('counts the visibility timeout from the receive, and never hands out a batch still being handled', () => {
    const queue = new FifoQueue({ visibilityTimeoutMs: 1000 });
    queue.send(msg('A', 'a0'));
    const batch = queue.receive();
    vi.advanceTimersByTime(5000); // a handler slower than the timeout
    expect(queue.receive()).toEqual([]);
    queue.settle(batch, ids(batch));
    expect(bodies(queue.receive())).toEqual(['a0']);
  });

  it('other groups go on while a failed group waits', () => {
    const queue = new FifoQueue({ visibilityTimeoutMs: 1000 });
    queue.send(msg('A', 'a0'));
    queue.send(msg('B', 'b0'));
    const batch = queue.receive();
    queue.settle(batch, new Set([batch[0].message.messageId]));
    queue.send(msg('B', 'b1'));
    queue.send(msg('A', 'a1'));
    expect(bodies(queue.receive())).toEqual(['b1']);
  });

  it('counts receives and keeps the first receive time', () => {
    const queue = new FifoQueue({ visibilityTimeoutMs: 10 });
    queue.send(msg('A', 'a0'));
    const first = queue.receive();
    const firstAt = first[0].message.firstReceivedAt;
    expect(first[0].message.receiveCount).toBe(1);
    queue.settle(first, ids(first));
    vi.advanceTimersByTime(10);
    const second = queue.receive();
    expect(second[0].message).toMatchObject({ receiveCount: 2, firstReceivedAt: firstAt, messageId: first[0].message.messageId });
  });
});

describe('FifoQueue: the dead-letter queue', () => {
  it('moves a message received maxReceiveCount times to the dead-letter queue, then goes on with its group', () => {
    const dead: DeadLetter[] = [];
    const queue = new FifoQueue({ visibilityTimeoutMs: 10, maxReceiveCount: 3, onDeadLetter: (d) => dead.push(d) });
    queue.send(msg('A', 'poison'));
    queue.send(msg('A', 'next'));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const batch = queue.receive();
      expect(bodies(batch)).toEqual(['poison', 'next']);
      expect(batch[0].message.receiveCount).toBe(attempt);
      // Only the poison message fails on its last attempt; the later one is reported before.
      queue.settle(batch, attempt < 3 ? ids(batch) : new Set([batch[0].message.messageId]));
      vi.advanceTimersByTime(10);
    }
    expect(queue.receive()).toEqual([]);
    expect(dead.map((d) => d.send.body)).toEqual(['poison']);
    expect(queue.deadLetters()).toEqual([expect.objectContaining({ receiveCount: 3, send: expect.objectContaining({ groupId: 'A' }) })]);
    expect(queue.depth).toBe(0);
  });

  it('a message behind a dead-lettered one is handed out at the same receive', () => {
    const queue = new FifoQueue({ visibilityTimeoutMs: 10, maxReceiveCount: 1 });
    queue.send(msg('A', 'poison'));
    const batch = queue.receive();
    queue.send(msg('A', 'later'));
    queue.settle(batch, ids(batch));
    vi.advanceTimersByTime(10);
    const after = queue.receive();
    expect(queue.deadLetters().map((d) => d.send.body)).toEqual(['poison']);
    expect(bodies(after)).toEqual(['later']);
    expect(after[0].message.receiveCount).toBe(1);
  });
});

describe('FifoQueue: deduplication', () => {
  it('accepts and drops a message whose deduplication id was sent within 5 minutes', () => {
    const queue = new FifoQueue();
    const first = queue.send(msg('A', 'one', 'req-1'));
    const again = queue.send(msg('A', 'two', 'req-1'));
    expect(again).toEqual({ messageId: first.messageId, duplicate: true });
    expect(bodies(queue.receive())).toEqual(['one']);
  });

  it('takes the same deduplication id again after the window', () => {
    const queue = new FifoQueue();
    queue.send(msg('A', 'one', 'req-1'));
    vi.advanceTimersByTime(5 * 60_000 - 1);
    expect(queue.send(msg('A', 'two', 'req-1')).duplicate).toBe(true);
    vi.advanceTimersByTime(1);
    expect(queue.send(msg('A', 'three', 'req-1')).duplicate).toBe(false);
    expect(bodies(queue.receive())).toEqual(['one', 'three']);
  });

  it('deduplicates within a message group (high-throughput mode), and even after the first was deleted', () => {
    const queue = new FifoQueue();
    queue.send(msg('A', 'a', 'req-1'));
    expect(queue.send(msg('B', 'b', 'req-1')).duplicate).toBe(false);
    const batch = queue.receive();
    queue.settle(batch, none);
    expect(queue.send(msg('A', 'again', 'req-1')).duplicate).toBe(true);
    expect(queue.depth).toBe(0);
  });
});

describe('FifoQueue: shutting down', () => {
  it('expediteRetries hands failed messages out again at once, and every later failure too', () => {
    const queue = new FifoQueue({ visibilityTimeoutMs: 60_000 });
    queue.send(msg('A', 'a0'));
    const first = queue.receive();
    queue.settle(first, ids(first));
    expect(queue.receive()).toEqual([]);
    queue.expediteRetries();
    const second = queue.receive();
    expect(second.map((r) => r.message.receiveCount)).toEqual([2]);
    queue.settle(second, ids(second));
    expect(queue.receive().map((r) => r.message.receiveCount)).toEqual([3]);
  });
});

describe('FifoQueue: drained', () => {
  it('resolves once nothing waits and nothing is in flight', async () => {
    const queue = new FifoQueue({ visibilityTimeoutMs: 10 });
    await queue.drained();
    queue.send(msg('A', 'a0'));
    let done = false;
    void queue.drained().then(() => (done = true));
    const batch = queue.receive();
    queue.settle(batch, ids(batch));
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(false);
    queue.settle(queue.receive(), none);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
  });
});
