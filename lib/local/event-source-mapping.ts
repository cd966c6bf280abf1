/**
 * Local mode's stand-in for Lambda's SQS event source mapping on the ordered ingress queue: a
 * bounded pool of consumers (Lambda's concurrency; the mapping's maximum concurrency), each
 * receiving a batch from the FIFO queue, calling the handler with the SQS event Lambda would
 * build, and settling the batch as Lambda does with ReportBatchItemFailures: the messages the
 * answer names fail and come back after their visibility timeout, the others are deleted; a thrown
 * error (or an answer Lambda cannot read) fails the whole batch.
 *
 * A consumer takes a batch as soon as one is available (FIFO mappings have no batching window).
 * When every consumer is busy the backlog waits in the queue: nothing times out or is dropped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log';
import type { FifoQueue, Received } from './ingress-queue';
import { errorFields } from './options';
import { failedMessageIds, sqsEvent, type SqsEvent } from './sqs-event';

export type IngressHandler = (event: SqsEvent) => Promise<unknown>;

export interface EventSourceMappingOptions {
  /** Consumers at most: batches handled at once. @default 4 */
  readonly concurrency?: number;
  /** Random delay in [0, jitterMs) before each handler call. @default 0 */
  readonly jitterMs?: number;
  readonly log: Logger;
}

export class EventSourceMapping {
  private readonly concurrency: number;
  private readonly jitterMs: number;
  private readonly log: Logger;
  private active = 0;
  private stopped = false;
  private pollScheduled = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly queue: FifoQueue,
    private readonly handler: IngressHandler,
    options: EventSourceMappingOptions,
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.jitterMs = options.jitterMs ?? 0;
    this.log = options.log;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError('concurrency must be at least 1');
    queue.onAvailable = () => this.schedulePoll();
  }

  /** Batches being handled now. */
  get busy(): number {
    return this.active;
  }

  /** Takes no more batches (the ones being handled finish). */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves once no batch is being handled. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Hands batches to idle consumers while there are both. */
  poll(): void {
    while (!this.stopped && this.active < this.concurrency) {
      const batch = this.queue.receive();
      if (batch.length === 0) return;
      this.active++;
      void this.consume(batch);
    }
  }

  /**
   * Polls once the current turn is over, so that messages sent together (one socket read's
   * frames) can share a batch, as a poller's receive finds whatever the queue holds.
   */
  private schedulePoll(): void {
    if (this.pollScheduled) return;
    this.pollScheduled = true;
    setImmediate(() => {
      this.pollScheduled = false;
      this.poll();
    });
  }

  private async consume(batch: readonly Received[]): Promise<void> {
    let failed: Set<string>;
    try {
      if (this.jitterMs > 0) await sleep(Math.random() * this.jitterMs);
      failed = failedMessageIds(await this.handler(sqsEvent(batch)), batch);
    } catch (error) {
      this.log.error('ingress handler failed: the whole batch is retried', { messages: batch.length, ...errorFields(error) });
      failed = new Set(batch.map((r) => r.message.messageId));
    }
    this.active--;
    // Settling makes the batch's groups available again: poll() runs from it.
    this.queue.settle(batch, failed);
    if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
