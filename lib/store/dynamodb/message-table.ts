/**
 * What the three parts of the DynamoDB MessageStore share (./message-window, ./message-queue,
 * ./qos2-receipts): the `messages` table, the clock, the TTL of every item, and the rules of the
 * client's counter item, which holds the in-flight window and the queue count side by side.
 */
import type { QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { epochSeconds, isExpired, type Clock } from '../clock';
import { StoreError } from '../errors';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import { COUNTER_KEY, itemKeyOf, type Counter } from './message-codec';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
import { REQUEST_TOKEN } from './request-token';

/** The counter attribute holding the request token of the last enqueue (./message-queue.ts). */
export const ENQUEUE_TOKEN = 'eq';

export { DEFAULT_MESSAGE_TTL_SECONDS, RECLAIM_AFTER_SECONDS } from '../message-port';

/** How often one operation retries under contention or throttling. */
export const MAX_ATTEMPTS = 8;

/** Contention or throttling outlasted the retries of one operation. */
export class MessageStoreRetryError extends StoreError {
  constructor(
    readonly clientId: string,
    readonly operation: string,
  ) {
    super(`${operation} for ${clientId} gave up after ${MAX_ATTEMPTS} attempts`);
  }
}

export class MessageTable {
  constructor(
    readonly db: MeteredDynamoDb,
    readonly tableName: string,
    readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  /** The TTL of an item written now, epoch seconds. */
  expiresAt(nowMs: number): number {
    return epochSeconds(nowMs) + this.ttlSeconds;
  }

  /** `expiresAt = :ttl`, for a SET clause. */
  ttl(x: ExpressionBuilder, nowMs: number): string {
    return `${x.name('expiresAt')} = ${x.value({ N: String(this.expiresAt(nowMs)) })}`;
  }

  /** Strongly consistent, every page: in-flight state must not be read stale. */
  queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    return this.db.queryAll({ TableName: this.tableName, ...input, ConsistentRead: true });
  }

  /**
   * A clean start for the counter: zero slots and queue, no gate. Only towards a newer epoch (epochs sort
   * in claim order, see session-port) or over an expired counter, and only once when concurrent.
   */
  async resetCounter(clientId: string, sessionEpoch: string): Promise<void> {
    const now = this.clock();
    const x = new ExpressionBuilder();
    const zero = x.value({ N: '0' });
    const fields = ['next', 'inflight', 'sequence', 'queued', 'queueTail'].map((f) => `${x.name(f)} = ${zero}`);
    await conditionally(
      () =>
        this.db.updateItem({
          TableName: this.tableName,
          Key: itemKeyOf(clientId, COUNTER_KEY),
          UpdateExpression: `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ${fields.join(', ')}, ${this.ttl(x, now)} REMOVE ${x.name('ids')}, ${x.name('gate')}, ${x.name(REQUEST_TOKEN)}, ${x.name(ENQUEUE_TOKEN)}, ${x.name('reservedAt')}`,
          ConditionExpression:
            `attribute_not_exists(${x.name('epoch')}) OR ${x.name('epoch')} < ${x.value({ S: sessionEpoch })} ` +
            `OR ${x.name('expiresAt')} <= ${x.value({ N: String(epochSeconds(now)) })}`,
          ...x.attributes(),
        }),
      nothing, // already reset by a concurrent caller, or a newer session owns the counter
    );
  }
}

/**
 * A counter write that is not idempotent by itself (an ADD) made so: it stores its request token
 * (`SET rq = :token`) and is conditional on the counter not carrying that token yet, so the SDK's
 * resend of an applied write fails its condition and finds its token in the old item
 * (ReturnValuesOnConditionCheckFailure: 'ALL_OLD'). The counter keeps the last token only: a resend
 * that comes after another write of the counter is applied again (see docs/RELIABILITY.md). An
 * enqueue keeps its token apart (`attribute`, ENQUEUE_TOKEN), so that only another enqueue
 * replaces it.
 */
export function tokenGuard(x: ExpressionBuilder, token: string, attribute: string = REQUEST_TOKEN): { set: string; condition: string } {
  const rq = x.name(attribute);
  const value = x.value({ S: token });
  return { set: `${rq} = ${value}`, condition: `(attribute_not_exists(${rq}) OR ${rq} <> ${value})` };
}

/** The counter belongs to this epoch and is live. */
export function isCurrent(counter: Counter, sessionEpoch: string, nowMs: number): boolean {
  return counter.epoch === sessionEpoch && !isExpired(counter.expiresAt, nowMs);
}

/** A live counter of a newer session: the caller's epoch is stale and must change nothing. */
export function supersedes(counter: Counter, sessionEpoch: string, nowMs: number): boolean {
  return counter.epoch > sessionEpoch && !isExpired(counter.expiresAt, nowMs);
}

/** The counter is missing (the first write of a session creates it), or of this epoch and live. */
export function currentEpoch(x: ExpressionBuilder, sessionEpoch: string, nowMs: number): string {
  const live = `(${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND ${x.name('expiresAt')} > ${x.value({ N: String(epochSeconds(nowMs)) })})`;
  return `(attribute_not_exists(${x.name('epoch')}) OR ${live})`;
}
