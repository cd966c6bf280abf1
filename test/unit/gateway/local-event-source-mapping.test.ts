/**
 * Local mode's stand-in for Lambda's SQS event source mapping (lib/local/event-source-mapping.ts)
 * on the FIFO emulation, with a fake handler: the event shape, the bounded pool, order per group,
 * ReportBatchItemFailures, thrown errors, the dead-letter queue, and a backlog that only waits.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseIngressEvent } from '../../../lib/gateway/ingress';
import { DISCONNECT_BODY, INGRESS_ATTRIBUTES } from '../../../lib/ingress-wire';
import { EventSourceMapping, type IngressHandler } from '../../../lib/local/event-source-mapping';
import { FifoQueue, type FifoQueueOptions, type IngressSend } from '../../../lib/local/ingress-queue';
import { failedMessageIds, md5OfMessageAttributes, type SqsEvent, type SqsRecord } from '../../../lib/local/sqs-event';
import { silentLogger } from '../../../lib/log';

let request = 0;
function frame(connectionId: string, body: string): IngressSend {
  return {
    groupId: connectionId,
    deduplicationId: `req-${request++}`,
    body,
    attributes: { [INGRESS_ATTRIBUTES.eventType]: 'MESSAGE', [INGRESS_ATTRIBUTES.requestTimeEpoch]: String(Date.now()) },
  };
}

function start(handler: IngressHandler, queueOptions: FifoQueueOptions = {}, concurrency = 4) {
  const queue = new FifoQueue({ visibilityTimeoutMs: 20, ...queueOptions });
  const mapping = new EventSourceMapping(queue, handler, { concurrency, log: silentLogger });
  return { queue, mapping };
}

const ok = async () => ({ batchItemFailures: [] });
const bodiesOf = (event: SqsEvent) => event.Records.map((r) => r.body);

describe('EventSourceMapping: the event', () => {
  it('calls the handler with the SQS event Lambda builds, which the ingress parser accepts', async () => {
    const events: SqsEvent[] = [];
    const { queue } = start(async (event) => void events.push(event));
    queue.send(frame('conn-1', 'EAwABE1RVFQ='));
    queue.send({
      groupId: 'conn-1',
      deduplicationId: 'req-close',
      body: DISCONNECT_BODY,
      attributes: { stratusEventType: 'DISCONNECT', stratusRequestTimeEpoch: '1700000000000', stratusDisconnectStatusCode: 'code:1000' },
    });
    await queue.drained();
    expect(events).toHaveLength(1);
    const [record, close] = events[0].Records as [SqsRecord, SqsRecord];
    expect(record).toMatchObject({
      body: 'EAwABE1RVFQ=',
      attributes: { ApproximateReceiveCount: '1', MessageGroupId: 'conn-1', MessageDeduplicationId: expect.stringMatching(/^req-/) },
      messageAttributes: { stratusEventType: { stringValue: 'MESSAGE', stringListValues: [], binaryListValues: [], dataType: 'String' } },
      eventSource: 'aws:sqs',
      eventSourceARN: expect.stringMatching(/^arn:aws:sqs:[a-z0-9-]+:\d{12}:.+\.fifo$/),
    });
    expect(record.md5OfBody).toBe(createHash('md5').update('EAwABE1RVFQ=').digest('hex'));
    expect(record.md5OfMessageAttributes).toBe(md5OfMessageAttributes({ stratusEventType: 'MESSAGE', stratusRequestTimeEpoch: record.messageAttributes.stratusRequestTimeEpoch.stringValue }));
    expect(BigInt(close.attributes.SequenceNumber)).toBeGreaterThan(BigInt(record.attributes.SequenceNumber));
    const { records, invalid } = parseIngressEvent(events[0]);
    expect(invalid).toEqual([]);
    expect(records).toEqual([
      expect.objectContaining({ type: 'MESSAGE', connectionId: 'conn-1', body: 'EAwABE1RVFQ=', isBase64Encoded: false, receiveCount: 1 }),
      expect.objectContaining({ type: 'DISCONNECT', connectionId: 'conn-1', requestId: 'req-close', requestTimeEpoch: 1700000000000, disconnectStatusCode: 1000 }),
    ]);
  });

  it('digests message attributes as SQS does', () => {
    // The example of the SQS developer guide's "Calculating the MD5 message digest for message attributes".
    expect(md5OfMessageAttributes({ SellerName: 'Example Store' })).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');
  });
});

describe('EventSourceMapping: the pool of consumers', () => {
  it('runs at most `concurrency` batches at once; the backlog waits in the queue', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const { queue } = start(
      async () => {
        running++;
        calls++;
        most = Math.max(most, running);
        await sleep(5);
        running--;
      },
      { batchSize: 1 },
      3,
    );
    for (let i = 0; i < 30; i++) queue.send(frame(`conn-${i}`, `m${i}`));
    await queue.drained();
    expect(most).toBe(3);
    expect(calls).toBe(30);
  });

  it('keeps each group in order and never hands two batches of one group out at once, under random handler delays', async () => {
    const seen = new Map<string, number[]>();
    const busy = new Set<string>();
    let overlap = false;
    const { queue } = start(async (event) => {
      const groups = new Set(event.Records.map((r) => r.attributes.MessageGroupId));
      for (const g of groups) {
        if (busy.has(g)) overlap = true;
        busy.add(g);
      }
      await sleep(Math.random() * 4);
      for (const r of event.Records) {
        const list = seen.get(r.attributes.MessageGroupId) ?? [];
        list.push(Number(r.body));
        seen.set(r.attributes.MessageGroupId, list);
      }
      for (const g of groups) busy.delete(g);
    });
    const GROUPS = 12;
    const PER_GROUP = 40;
    for (let i = 0; i < PER_GROUP; i++) {
      for (let g = 0; g < GROUPS; g++) queue.send(frame(`conn-${g}`, String(i)));
      if (i % 7 === 0) await sleep(1);
    }
    await queue.drained();
    expect(overlap).toBe(false);
    expect(seen.size).toBe(GROUPS);
    for (const list of seen.values()) expect(list).toEqual([...Array(PER_GROUP).keys()]);
  });

  it('puts several groups in one batch, at most 10 messages', async () => {
    const batches: SqsEvent[] = [];
    const { queue } = start(async (event) => void batches.push(event), {}, 1);
    for (let i = 0; i < 4; i++) for (const c of ['a', 'b', 'c', 'd']) queue.send(frame(c, `${c}${i}`));
    await queue.drained();
    expect(batches.map((b) => b.Records.length)).toEqual([10, 6]);
    expect(bodiesOf(batches[0])).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3', 'c0', 'c1']);
  });
});

describe('EventSourceMapping: ReportBatchItemFailures', () => {
  it('retries the reported messages after the visibility timeout, in order, with the receive count raised', async () => {
    const calls: { body: string; count: string }[][] = [];
    let failedOnce = false;
    const { queue } = start(async (event) => {
      calls.push(event.Records.map((r) => ({ body: r.body, count: r.attributes.ApproximateReceiveCount })));
      const i = event.Records.findIndex((r) => r.body === 'm1');
      if (failedOnce || i < 0) return { batchItemFailures: [] };
      failedOnce = true;
      // FIFO: the first failure and every later message of its group.
      return { batchItemFailures: event.Records.slice(i).map((r) => ({ itemIdentifier: r.messageId })) };
    });
    const started = Date.now();
    for (let i = 0; i < 3; i++) queue.send(frame('conn', `m${i}`));
    await queue.drained();
    expect(calls).toEqual([
      [{ body: 'm0', count: '1' }, { body: 'm1', count: '1' }, { body: 'm2', count: '1' }],
      [{ body: 'm1', count: '2' }, { body: 'm2', count: '2' }],
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(19);
  });

  it('a thrown error fails the whole batch, every group of it', async () => {
    let calls = 0;
    const handled: string[] = [];
    const { queue } = start(async (event) => {
      if (calls++ === 0) {
        expect(bodiesOf(event)).toEqual(['a0', 'b0']);
        throw new Error('function error');
      }
      handled.push(...event.Records.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`));
    }, {}, 1);
    queue.send(frame('a', 'a0'));
    queue.send(frame('b', 'b0'));
    await queue.drained();
    // Groups are independent: no order between them.
    expect(handled.sort()).toEqual(['a0#2', 'b0#2']);
  });

  it('reads answers as Lambda does: empty is success, an unknown or empty id fails everything', () => {
    const queue = new FifoQueue();
    queue.send(frame('a', 'a0'));
    queue.send(frame('a', 'a1'));
    const batch = queue.receive();
    const [first, second] = batch.map((r) => r.message.messageId);
    const all = new Set([first, second]);
    expect(failedMessageIds(undefined, batch)).toEqual(new Set());
    expect(failedMessageIds({}, batch)).toEqual(new Set());
    expect(failedMessageIds({ batchItemFailures: null }, batch)).toEqual(new Set());
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: second }] }, batch)).toEqual(new Set([second]));
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: '' }] }, batch)).toEqual(all);
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'nope' }] }, batch)).toEqual(all);
    expect(failedMessageIds({ batchItemFailures: [{ id: first }] }, batch)).toEqual(all);
    expect(failedMessageIds('ok', batch)).toEqual(all);
  });

  it('a message that keeps failing goes to the dead-letter queue after maxReceiveCount receives', async () => {
    const counts: string[] = [];
    const handled: string[] = [];
    const { queue } = start(
      async (event) => {
        const failures: { itemIdentifier: string }[] = [];
        for (const r of event.Records) {
          if (r.body === 'poison') {
            counts.push(r.attributes.ApproximateReceiveCount);
            failures.push({ itemIdentifier: r.messageId });
            // As lib/runtime/ingress.ts: on the last attempt the later messages are dropped.
            if (r.attributes.ApproximateReceiveCount === '3') break;
          } else if (failures.length > 0) failures.push({ itemIdentifier: r.messageId });
          else handled.push(r.body);
        }
        return { batchItemFailures: failures };
      },
      { maxReceiveCount: 3 },
    );
    queue.send(frame('conn', 'before'));
    queue.send(frame('conn', 'poison'));
    queue.send(frame('conn', 'after'));
    await queue.drained();
    expect(counts).toEqual(['1', '2', '3']);
    expect(queue.deadLetters().map((d) => [d.send.body, d.receiveCount])).toEqual([['poison', 3]]);
    expect(handled).toEqual(['before']);
  });

  it('handles a backlog far beyond its consumers: nothing is dropped', async () => {
    let handled = 0;
    const { queue } = start(async (event) => {
      await sleep(1);
      handled += event.Records.length;
      return ok();
    }, {}, 2);
    for (let i = 0; i < 2000; i++) queue.send(frame(`conn-${i % 50}`, String(i)));
    await queue.drained();
    expect(handled).toBe(2000);
  });
});
