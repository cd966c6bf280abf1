/**
 * The consumer of the ordered ingress queue (docs/ARCHITECTURE.md "Ordered ingress"). One batch
 * holds frames and closes of several connections; each connection's come in the order it sent
 * them, and are handled one after another, never concurrently. Connections run side by side.
 *
 * Per connection, in order: each frame's packets are handled (./message.ts `receiveFrame`) and
 * their replies gathered; all the replies of the batch go out in one post (API Gateway meters
 * per message), before a close is handled. A DISCONNECT (the connection closed) runs the
 * disconnect path: the frames before it, a DISCONNECT packet included, are always handled first,
 * so no grace period is needed.
 *
 * Numbered frames (docs/TRANSPORT.md section 3) are handled by sequence number: two frames
 * swapped before the queue are put back in order when they share a batch (./ingress-order.ts),
 * and every reorder is counted (`IngressReorders`).
 *
 * Failures (a store or post failure, never bad input: that gets its MQTT reaction and succeeds):
 * a frame is tried once more in place; then the failing frame and every frame of its connection
 * not yet handled are reported as batch item failures, in queue order, so the queue hands them
 * out again, in order. On its last attempt a frame is answered as direct
 * ingress would (v5 DISCONNECT 0x83, close) and reported once more, which moves it to the
 * dead-letter queue; the connection's later frames are dropped with it, since its order can no
 * longer be kept.
 */
import { parseIngressEvent, type IngressRecord } from '../gateway/ingress';
import { withRetry, type RetryPolicy } from '../retry';
import { runDisconnectPath } from './disconnect-path';
import { planConnection, seqOf, type HandledSeqs } from './ingress-order';
import { receiveFrame, sendReplies } from './message';
import { closeQuietly, createOutbox, merge, type Outbox } from './outbox';
import type { BatchResponse, RuntimeDeps } from './types';

/** `seqs`: the highest sequence number handled per connection, kept by the container. */
export async function handleIngress(deps: RuntimeDeps, raw: unknown, seqs: HandledSeqs): Promise<BatchResponse> {
  const { records, invalid } = parseIngressEvent(raw);
  const failed: string[] = [];
  for (const bad of invalid) {
    // A message the request template cannot have written: to the dead-letter queue, loudly.
    deps.log.error('invalid ingress message', { messageId: bad.messageId, connectionId: bad.connectionId, error: bad.error });
    deps.metrics.add('IngressFailures');
    failed.push(bad.messageId);
  }
  const groups = new Map<string, IngressRecord[]>();
  for (const record of records) {
    const group = groups.get(record.connectionId);
    if (group === undefined) groups.set(record.connectionId, [record]);
    else group.push(record);
  }
  const results = await Promise.all([...groups.values()].map((group) => runGroup(deps, seqs, group)));
  for (const ids of results) failed.push(...ids);
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * One connection's records of the batch, in queue order: handled in the order the plan restores,
 * and the failed ones answered in queue order (what the event source mapping sees).
 */
async function runGroup(deps: RuntimeDeps, seqs: HandledSeqs, arrival: readonly IngressRecord[]): Promise<string[]> {
  const connectionId = arrival[0].connectionId;
  const plan = planConnection(arrival, seqs.get(connectionId));
  if (plan.reorders > 0) deps.metrics.add('IngressReorders', plan.reorders);
  for (const record of plan.late) {
    deps.log.warn('ingress frame arrived after a later one was handled: order not restored', {
      connectionId,
      messageId: record.messageId,
      seq: seqOf(record),
      handled: seqs.get(connectionId),
    });
  }
  const failed = new Set(await runConnection(deps, seqs, plan.order));
  return arrival.filter((r) => failed.has(r.messageId)).map((r) => r.messageId);
}

/** One connection's records of the batch, in the order to handle them; answers the message ids that failed. */
async function runConnection(deps: RuntimeDeps, seqs: HandledSeqs, records: readonly IngressRecord[]): Promise<string[]> {
  const connectionId = records[0].connectionId;
  let batch: Outbox | undefined;
  let closed = false;
  const flush = async () => {
    const replies = batch;
    batch = undefined;
    if (replies !== undefined) await sendReplies(deps, connectionId, replies);
  };
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const lastAttempt = record.receiveCount >= deps.maxReceives;
    try {
      if (record.type === 'DISCONNECT') {
        await flush();
        // API Gateway's `$disconnect`, or a close the broker queued (./disconnect-path.ts `closeFound`).
        await runDisconnectPath(deps, connectionId, record.cause ?? 'client-closed', undefined, record.requestTimeEpoch, record.clientId);
        seqs.forget(connectionId);
        deps.publishLimiter?.forget(connectionId);
        continue;
      }
      if (closed) {
        // After a close of the broker's own: the client's later frames are not handled.
        deps.log.info('frame after the connection closed: dropped', { connectionId, messageId: record.messageId });
        continue;
      }
      const { frame, outcome } = await receive(deps, record, lastAttempt);
      if (outcome === 'handled' && record.seq !== undefined) seqs.handled(connectionId, record.seq);
      batch ??= createOutbox(frame.mode);
      merge(batch, frame);
      if (batch.close) {
        closed = true;
        await flush();
      }
      if (outcome === 'failed') return [...deadLetter(deps, record), ...laterDisconnects(records, i)];
    } catch (error) {
      // The frames before this one succeeded: their replies go out.
      await flushQuietly(deps, flush);
      if (!lastAttempt) {
        deps.log.warn('ingress frame failed: retried in order', { connectionId, messageId: record.messageId, attempt: record.receiveCount, error });
        return records.slice(i).map((r) => r.messageId);
      }
      deps.log.error('ingress frame failed', { connectionId, messageId: record.messageId, error });
      await closeQuietly(deps, connectionId);
      return [...deadLetter(deps, record), ...laterDisconnects(records, i)];
    }
  }
  await flushQuietly(deps, flush);
  return [];
}

/**
 * A frame's packets, tried again here after a short backoff before the frame is handed back to
 * the queue: a retry through the queue waits out the visibility timeout, and the connection's
 * later frames wait with it. Each try starts from empty replies.
 */
async function receive(deps: RuntimeDeps, record: IngressRecord & { type: 'MESSAGE' }, lastAttempt: boolean) {
  const mode = record.isBase64Encoded ? 'binary' : 'text';
  if (lastAttempt) {
    const frame = createOutbox(mode);
    return { frame, outcome: await receiveFrame(deps, record, frame, 'close') };
  }
  return withRetry(IN_PLACE_RETRY, () => true, async () => {
    const frame = createOutbox(mode);
    return { frame, outcome: await receiveFrame(deps, record, frame, 'throw') };
  });
}

/** Tries of a failing frame within one invocation, before the queue retries it. */
const IN_PLACE_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 100, maxDelayMs: 500 };

/**
 * A frame failed on its last attempt (the connection is closed by now): reported failed once
 * more, which moves it to the dead-letter queue, where an alarm watches.
 */
function deadLetter(deps: RuntimeDeps, record: IngressRecord): string[] {
  deps.log.error('ingress frame dead-lettered, connection closed', {
    connectionId: record.connectionId,
    messageId: record.messageId,
    attempt: record.receiveCount,
  });
  deps.metrics.add('IngressFailures');
  return [record.messageId];
}

/** The connection's later frames are dropped with it, but a close still runs the disconnect path. */
function laterDisconnects(records: readonly IngressRecord[], i: number): string[] {
  return records.slice(i + 1).filter((r) => r.type === 'DISCONNECT').map((r) => r.messageId);
}

async function flushQuietly(deps: RuntimeDeps, flush: () => Promise<void>): Promise<void> {
  try {
    await flush();
  } catch (error) {
    deps.log.warn('replies of the batch not delivered', { error });
  }
}
