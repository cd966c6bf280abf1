/**
 * Local mode's ordered ingress queue: an in-memory emulation of the SQS FIFO queue that API
 * Gateway writes one message per frame or close into (lib/ingress-wire.ts), with its redrive
 * policy to a dead-letter queue. What it keeps of SQS FIFO, as AWS documents it:
 *
 * - Message groups: the messages of one group are handed out in the order they were sent, and
 *   while any of them is in flight (received, neither deleted nor visible again) no later message
 *   of that group is handed out: one batch per group at a time.
 * - A receive takes up to `batchSize` (≤ 10) messages, as many as possible of one group first,
 *   then of the next group, oldest groups first.
 * - Deduplication: a message whose deduplication id was sent within the window (5 minutes) is
 *   accepted and dropped. The scope is the message group, as in high-throughput mode.
 * - Visibility: a message received and not deleted becomes visible again `visibilityTimeoutMs`
 *   after it was received, and not before its consumer is done with it (Lambda requires the
 *   queue's visibility timeout to exceed the function's timeout; local mode has no function
 *   timeout, so a slow handler is waited for instead of overtaken).
 * - Redrive: a message that has been received `maxReceiveCount` times and is due for another
 *   receive goes to the dead-letter list instead.
 *
 * Nothing is ever dropped or timed out for load: a backlog waits in the queue.
 */
import { randomUUID } from 'node:crypto';

/** What API Gateway's request template sends: one `SendMessage` (all attributes of type String). */
export interface IngressSend {
  /** MessageGroupId: the connection id. */
  readonly groupId: string;
  /** MessageDeduplicationId: the request id. */
  readonly deduplicationId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** A message as the queue holds it. */
export interface QueuedMessage {
  readonly messageId: string;
  /** SQS FIFO's SequenceNumber: increasing in send order, as a decimal string. */
  readonly sequenceNumber: string;
  readonly send: IngressSend;
  /** SentTimestamp, epoch ms. */
  readonly sentAt: number;
  /** ApproximateReceiveCount: how many times it was handed out. */
  readonly receiveCount: number;
  /** ApproximateFirstReceiveTimestamp, epoch ms (0 until the first receive). */
  readonly firstReceivedAt: number;
  /** Messages sent together right after this one (`sendTogether`): a receive takes them all or none. */
  readonly together: number;
}

/** A message the redrive policy moved to the dead-letter queue. */
export interface DeadLetter extends QueuedMessage {
  readonly deadLetteredAt: number;
}

export interface FifoQueueOptions {
  /** Messages per receive, 1 to 10 (Lambda's largest batch for FIFO). @default 10 */
  readonly batchSize?: number;
  /** How long a received message stays invisible. @default 1000 (SQS's own default is 30 s) */
  readonly visibilityTimeoutMs?: number;
  /** Receives before the dead-letter queue (the redrive policy). @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 5 minutes, as SQS */
  readonly deduplicationWindowMs?: number;
  /** Called when a message went to the dead-letter queue. */
  readonly onDeadLetter?: (message: DeadLetter) => void;
  readonly now?: () => number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Stored = Mutable<QueuedMessage>;

interface Group {
  readonly id: string;
  /** Waiting, in send order; handed out only while nothing of the group is in flight. */
  readonly waiting: Stored[];
  /** Received and not yet settled, or failed and waiting for their visibility timeout. */
  inFlight: number;
}

/** A received message and its receipt: what `settle` takes back. */
export interface Received {
  readonly message: QueuedMessage;
  readonly receivedAt: number;
}

export const DEDUPLICATION_WINDOW_MS = 5 * 60_000;
/** SQS numbers FIFO messages with large decimal sequence numbers; any increasing start will do. */
const FIRST_SEQUENCE = 18_849_496_460_467_696_128n;

export class FifoQueue {
  private readonly groups = new Map<string, Group>();
  private readonly deduplication = new Map<string, { readonly messageId: string; readonly until: number }>();
  private readonly dead: DeadLetter[] = [];
  /** Failed messages waiting for their visibility timeout: each timer and what it releases. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly batchSize: number;
  private readonly visibilityTimeoutMs: number;
  private readonly maxReceiveCount: number;
  private readonly deduplicationWindowMs: number;
  private readonly now: () => number;
  private sequence = FIRST_SEQUENCE;
  private messages = 0;
  private closed = false;
  private expedited = false;
  /** Called whenever messages may have become available to receive. */
  onAvailable: () => void = () => undefined;

  constructor(private readonly options: FifoQueueOptions = {}) {
    this.batchSize = options.batchSize ?? 10;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 1000;
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.deduplicationWindowMs = options.deduplicationWindowMs ?? DEDUPLICATION_WINDOW_MS;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10) throw new RangeError('batchSize must be 1 to 10');
    if (!Number.isInteger(this.maxReceiveCount) || this.maxReceiveCount < 1) throw new RangeError('maxReceiveCount must be at least 1');
  }

  /** SendMessage: answers the message id, and whether it was dropped as a duplicate. */
  send(send: IngressSend): { messageId: string; duplicate: boolean } {
    return this.enqueue(send, 0);
  }

  /**
   * Sends messages of one group back to back, and keeps them in one batch: a receive that cannot
   * take them all leaves them for the next. Not an SQS feature: local mode's swap
   * (./ordered-ingress.ts) uses it so that two swapped frames always reach the consumer together,
   * where it can restore their order; on AWS such a pair may straddle two batches.
   */
  sendTogether(sends: readonly IngressSend[]): void {
    if (sends.length > this.batchSize) throw new RangeError(`at most ${this.batchSize} messages go together`);
    sends.forEach((send, i) => this.enqueue(send, sends.length - 1 - i));
  }

  private enqueue(send: IngressSend, together: number): { messageId: string; duplicate: boolean } {
    if (this.closed) throw new Error('the ingress queue is closed');
    const now = this.now();
    this.forgetExpiredDeduplication(now);
    const key = `${send.groupId}\n${send.deduplicationId}`;
    const seen = this.deduplication.get(key);
    if (seen !== undefined) return { messageId: seen.messageId, duplicate: true };
    const message: Stored = {
      messageId: randomUUID(),
      sequenceNumber: String(this.sequence++),
      send,
      sentAt: now,
      receiveCount: 0,
      firstReceivedAt: 0,
      together,
    };
    this.deduplication.set(key, { messageId: message.messageId, until: now + this.deduplicationWindowMs });
    const group = this.groupOf(send.groupId);
    group.waiting.push(message);
    this.messages++;
    if (group.inFlight === 0) this.onAvailable();
    return { messageId: message.messageId, duplicate: false };
  }

  /**
   * ReceiveMessage: up to `batchSize` messages, as many of one group as possible first, oldest
   * groups first; never a group with messages in flight. Empty when nothing is available.
   */
  receive(): Received[] {
    const batch: Received[] = [];
    const now = this.now();
    for (const group of this.availableGroups()) {
      while (batch.length < this.batchSize && group.waiting.length > 0) {
        // Messages sent together go in one batch, unless they could never fit one.
        if (batch.length > 0 && batch.length + 1 + group.waiting[0].together > this.batchSize) break;
        const message = group.waiting.shift() as Stored;
        if (message.receiveCount >= this.maxReceiveCount) {
          this.deadLetter(message, now);
          continue;
        }
        message.receiveCount++;
        if (message.firstReceivedAt === 0) message.firstReceivedAt = now;
        group.inFlight++;
        batch.push({ message: { ...message }, receivedAt: now });
      }
      this.forgetIfEmpty(group);
      if (batch.length === this.batchSize) break;
    }
    this.notifyIfIdle();
    return batch;
  }

  /**
   * The consumer is done with a batch: the messages not named in `failed` are deleted; the failed
   * ones become visible again, in their order, once their visibility timeout has passed.
   */
  settle(batch: readonly Received[], failed: ReadonlySet<string>): void {
    const retried = new Map<Group, { message: Stored; visibleAt: number }[]>();
    for (const { message, receivedAt } of batch) {
      const group = this.groups.get(message.send.groupId);
      if (group === undefined) continue;
      if (!failed.has(message.messageId)) {
        group.inFlight--;
        this.messages--;
        continue;
      }
      const list = retried.get(group) ?? [];
      list.push({ message: { ...message }, visibleAt: receivedAt + this.visibilityTimeoutMs });
      retried.set(group, list);
    }
    for (const [group, list] of retried) this.returnLater(group, list);
    for (const group of new Set(batch.map((r) => this.groups.get(r.message.send.groupId)))) {
      if (group !== undefined) this.forgetIfEmpty(group);
    }
    this.onAvailable();
    this.notifyIfIdle();
  }

  /** The dead-letter queue's messages, oldest first. */
  deadLetters(): readonly DeadLetter[] {
    return [...this.dead];
  }

  /** Messages waiting or in flight. */
  get depth(): number {
    return this.messages;
  }

  /** Resolves once no message is waiting or in flight. */
  drained(): Promise<void> {
    if (this.messages === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Shutting down: failed messages come back at once instead of after their visibility timeout,
   * so that what is left is retried (or dead-lettered) now rather than never.
   */
  expediteRetries(): void {
    this.expedited = true;
    const waiting = [...this.timers];
    this.timers.clear();
    for (const [timer, release] of waiting) {
      clearTimeout(timer);
      release();
    }
  }

  /** Stops the visibility timers; the queue takes no more messages. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.keys()) clearTimeout(timer);
    this.timers.clear();
  }

  private groupOf(id: string): Group {
    let group = this.groups.get(id);
    if (group === undefined) {
      group = { id, waiting: [], inFlight: 0 };
      this.groups.set(id, group);
    }
    return group;
  }

  private availableGroups(): Group[] {
    const ready = [...this.groups.values()].filter((g) => g.inFlight === 0 && g.waiting.length > 0);
    return ready.sort((a, b) => compareSequence(a.waiting[0].sequenceNumber, b.waiting[0].sequenceNumber));
  }

  /**
   * Failed messages stay in flight until the last of them is visible again (they were received
   * together), then go back to the head of their group, in order.
   */
  private returnLater(group: Group, list: { message: Stored; visibleAt: number }[]): void {
    const visibleAt = Math.max(...list.map((r) => r.visibleAt));
    const release = () => {
      group.waiting.unshift(...list.map((r) => r.message));
      group.inFlight -= list.length;
      this.onAvailable();
    };
    const delay = visibleAt - this.now();
    if (delay <= 0 || this.closed || this.expedited) return release();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      release();
    }, delay);
    this.timers.set(timer, release);
  }

  private deadLetter(message: Stored, now: number): void {
    const dead: DeadLetter = { ...message, deadLetteredAt: now };
    this.dead.push(dead);
    this.messages--;
    this.options.onDeadLetter?.(dead);
  }

  private forgetIfEmpty(group: Group): void {
    if (group.inFlight === 0 && group.waiting.length === 0) this.groups.delete(group.id);
  }

  private forgetExpiredDeduplication(now: number): void {
    // Insertion order is send order, so the expired entries are the first ones.
    for (const [key, entry] of this.deduplication) {
      if (entry.until > now) break;
      this.deduplication.delete(key);
    }
  }

  private notifyIfIdle(): void {
    if (this.messages !== 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function compareSequence(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
