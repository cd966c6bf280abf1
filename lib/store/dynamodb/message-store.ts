/**
 * MessageStore on the `messages` table (item layout in ./message-codec).
 *
 * Packet ids and the window. The counter item keeps the set of outstanding packet ids (`ids`, a
 * Number Set) next to the slot count. An update expression cannot compute the next id (no modulo,
 * and ADD takes only a literal), so reserve() PROPOSES an id: this instance's last id + 1 for the
 * client, or `firstPacketId` (default random) for a client it has not served. One conditional
 * UpdateItem takes the slot only if the window has room, the epoch matches and the proposed id is
 * not outstanding; it ADDs the id to `ids`. A failed condition returns the old counter, which says
 * why: window full, another epoch (reset, then retry), or the id is in flight (retry with the next
 * free id after the counter's `next`). So ids in flight are never reused, even on wrap-around, and
 * an uncontended reserve is one write.
 *
 * complete() is one conditional UpdateItem (`contains(ids, :id)`: DELETE the id, ADD -1 to the
 * count), so a duplicate PUBACK frees nothing, with or without a stored in-flight message; then a
 * DeleteItem of the in-flight item (persistent sessions stored one).
 */
import {
  ConditionalCheckFailedException,
  type QueryCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { epochSeconds, isExpired, systemClock, type Clock } from '../clock';
import { StoreError } from '../errors';
import type { InflightMessage, MessageStore, OutboundMessage, QueuedMessage, Reservation } from '../message-port';
import type { DynamoStoreOptions } from './connection-store';
import { ExpressionBuilder } from './expressions';
import {
  COUNTER_KEY,
  INFLIGHT_PREFIX,
  INFLIGHT_RANGE_END,
  PK,
  QUEUE_PREFIX,
  SK,
  counterFrom,
  inflightCodec,
  inflightKey,
  itemKeyOf,
  nextFreePacketId,
  randomFreePacketId,
  queueKey,
  queuedCodec,
  receiptKey,
  storedFields,
  toInflight,
  toOutbound,
  type Counter,
} from './message-codec';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';

/** Default TTL of every item: a 7-day session plus an hour. The runtime aligns it with the session. */
export const DEFAULT_MESSAGE_TTL_SECONDS = 7 * 24 * 3600 + 3600;
const MAX_ATTEMPTS = 8;

export interface DynamoMessageStoreOptions extends DynamoStoreOptions {
  /** TTL of every item written, seconds from the write; default 7 days + 1 hour */
  ttlSeconds?: number;
  /**
   * Makes ids sequential from this one (tests of the wrap-around). Default: each reservation
   * proposes a random free id, so concurrent reservations do not collide.
   */
  firstPacketId?: number;
}

/** Contention or throttling outlasted the retries of one operation. */
export class MessageStoreRetryError extends StoreError {
  constructor(
    readonly clientId: string,
    readonly operation: string,
  ) {
    super(`${operation} for ${clientId} gave up after ${MAX_ATTEMPTS} attempts`);
  }
}

export class DynamoMessageStore implements MessageStore {
  private readonly clock: Clock;
  private readonly ttlSeconds: number;
  private readonly firstPacketId: () => number;
  /** Ids follow each other (only when `firstPacketId` fixes the sequence, for tests). */
  private readonly sequentialIds: boolean;
  /** The last packet id this instance handed out per client: the next proposal is the one after */
  private readonly lastIds = new Map<string, number>();

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoMessageStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_MESSAGE_TTL_SECONDS;
    const first = options.firstPacketId;
    this.sequentialIds = first !== undefined;
    this.firstPacketId = first !== undefined ? () => first : () => 1 + Math.floor(Math.random() * 65535);
  }

  async reserve(clientId: string, sessionEpoch: string, receiveMaximum: number): Promise<Reservation> {
    let packetId = this.proposeId(clientId, new Set());
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.clock();
      const x = new ExpressionBuilder();
      const one = x.value({ N: '1' });
      const id = x.value({ N: String(packetId) });
      const update =
        `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ${x.name('next')} = ${id}, ${this.ttl(x, now)} ` +
        `ADD ${x.name('inflight')} ${one}, ${x.name('sequence')} ${one}, ${x.name('ids')} ${x.value({ NS: [String(packetId)] })}`;
      const condition =
        `${currentEpoch(x, sessionEpoch, now)} AND ` +
        `(attribute_not_exists(${x.name('inflight')}) OR ${x.name('inflight')} < ${x.value({ N: String(receiveMaximum) })}) ` +
        `AND NOT contains(${x.name('ids')}, ${id})`;
      try {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: itemKeyOf(clientId, COUNTER_KEY),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        this.lastIds.set(clientId, packetId);
        return { outcome: 'reserved', packetId, sequence: Number(Attributes?.sequence?.N) };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const old = counterFrom(error.Item);
        if (old === undefined) continue;
        if (supersedes(old, sessionEpoch, now)) return { outcome: 'window-full' }; // a stale caller
        if (!isCurrent(old, sessionEpoch, now)) {
          await this.resetCounter(clientId, sessionEpoch);
          continue;
        }
        if (old.inflight >= receiveMaximum) return { outcome: 'window-full' };
        packetId = this.proposeId(clientId, old.ids, old.next);
      }
    }
    throw new MessageStoreRetryError(clientId, 'reserve');
  }

  /**
   * The id to propose: random and free (see randomFreePacketId), or, when the `firstPacketId`
   * option fixes the sequence (tests of the wrap-around), the next free one after the last.
   */
  private proposeId(clientId: string, outstanding: ReadonlySet<number>, storedNext?: number): number {
    if (!this.sequentialIds) return randomFreePacketId(outstanding);
    const last = storedNext ?? this.lastIds.get(clientId);
    return last === undefined ? this.firstPacketId() : nextFreePacketId(last, outstanding);
  }

  async putInflight(clientId: string, sessionEpoch: string, message: InflightMessage): Promise<void> {
    const item = inflightCodec.toItem({
      clientId,
      itemKey: inflightKey(message.packetId),
      epoch: sessionEpoch,
      ...storedFields(message),
      packetId: message.packetId,
      stage: message.stage,
      sequence: message.sequence,
      expiresAt: this.expiresAt(this.clock()),
    });
    const x = new ExpressionBuilder();
    try {
      await this.db.putItem({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: `attribute_not_exists(${x.name(SK)}) OR ${x.name('epoch')} <= ${x.value({ S: sessionEpoch })}`,
        ...x.attributes(),
      });
    } catch (error) {
      // a newer session owns this packet id: the caller is stale
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async complete(
    clientId: string,
    sessionEpoch: string,
    packetId: number,
    options: { stored?: boolean } = {},
  ): Promise<{ queued: number }> {
    const x = new ExpressionBuilder();
    const id = x.value({ N: String(packetId) });
    let queued: number;
    try {
      const { Attributes } = await this.db.updateItem({
        TableName: this.tableName,
        Key: itemKeyOf(clientId, COUNTER_KEY),
        UpdateExpression:
          `ADD ${x.name('inflight')} ${x.value({ N: '-1' })} ` + `DELETE ${x.name('ids')} ${x.value({ NS: [String(packetId)] })}`,
        ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND contains(${x.name('ids')}, ${id})`,
        ...x.attributes(),
        // The counter as it is now, queue count included: it costs nothing more than the update.
        ReturnValues: 'ALL_NEW',
      });
      queued = Number(Attributes?.queued?.N ?? '0');
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { queued: 0 }; // already completed, or another epoch
      throw error;
    }
    if (options.stored !== false) {
      await this.db.deleteItem({ TableName: this.tableName, Key: itemKeyOf(clientId, inflightKey(packetId)) });
    }
    return { queued };
  }

  async released(clientId: string, sessionEpoch: string, packetId: number): Promise<void> {
    const x = new ExpressionBuilder();
    try {
      await this.db.updateItem({
        TableName: this.tableName,
        Key: itemKeyOf(clientId, inflightKey(packetId)),
        UpdateExpression: `SET ${x.name('stage')} = ${x.value({ S: 'pubrel' })}`,
        ConditionExpression: `attribute_exists(${x.name(SK)}) AND ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`,
        ...x.attributes(),
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** One Query over `counter` .. `out#99999`: the counter says which stored ids are still in flight. */
  async inflight(clientId: string, sessionEpoch: string): Promise<InflightMessage[]> {
    const now = this.clock();
    const x = new ExpressionBuilder();
    const items = await this.queryAll({
      KeyConditionExpression:
        `${x.name(PK)} = ${x.value({ S: clientId })} AND ` +
        `${x.name(SK)} BETWEEN ${x.value({ S: COUNTER_KEY })} AND ${x.value({ S: INFLIGHT_RANGE_END })}`,
      ...x.attributes(),
    });
    const counter = counterFrom(items.find((item) => item[SK]?.S === COUNTER_KEY));
    if (counter === undefined || !isCurrent(counter, sessionEpoch, now)) return [];
    return items
      .filter((item) => item[SK]?.S?.startsWith(INFLIGHT_PREFIX))
      .map((item) => inflightCodec.fromItem(item))
      .filter((m) => m.epoch === sessionEpoch && !isExpired(m.expiresAt, now) && counter.ids.has(m.packetId))
      .sort((a, b) => a.sequence - b.sequence)
      .map(toInflight);
  }

  /** Takes a queue slot on the counter (conditional UpdateItem), then puts the message. */
  async enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number): Promise<'queued' | 'full'> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.clock();
      const x = new ExpressionBuilder();
      const one = x.value({ N: '1' });
      try {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: itemKeyOf(clientId, COUNTER_KEY),
          UpdateExpression:
            `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ${this.ttl(x, now)} ` +
            `ADD ${x.name('queued')} ${one}, ${x.name('queueTail')} ${one}`,
          ConditionExpression:
            `${currentEpoch(x, sessionEpoch, now)} AND ` +
            `(attribute_not_exists(${x.name('queued')}) OR ${x.name('queued')} < ${x.value({ N: String(maxQueued) })})`,
          ...x.attributes(),
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        const sequence = Number(Attributes?.queueTail?.N);
        const item = queuedCodec.toItem({
          clientId,
          itemKey: queueKey(sequence),
          epoch: sessionEpoch,
          ...storedFields(message),
          sequence,
          expiresAt: this.expiresAt(now),
        });
        await this.db.putItem({ TableName: this.tableName, Item: item });
        return 'queued';
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const old = counterFrom(error.Item);
        if (old !== undefined && (isCurrent(old, sessionEpoch, now) || supersedes(old, sessionEpoch, now))) return 'full';
        if (old !== undefined) await this.resetCounter(clientId, sessionEpoch);
      }
    }
    throw new MessageStoreRetryError(clientId, 'enqueue');
  }

  /**
   * Query the queue oldest first, then a DeleteItem each, conditioned on the item existing and
   * returning it (ALL_OLD): only the taker whose delete succeeded has it, so each message is taken
   * once under concurrent takers.
   * Expired messages and items of another epoch are deleted and skipped.
   */
  async takeQueued(clientId: string, sessionEpoch: string, limit: number): Promise<QueuedMessage[]> {
    const now = this.clock();
    const taken: QueuedMessage[] = [];
    let removed = 0;
    let startKey: Item | undefined;
    while (taken.length < limit) {
      const x = new ExpressionBuilder();
      const page = await this.db.query({
        TableName: this.tableName,
        KeyConditionExpression: `${x.name(PK)} = ${x.value({ S: clientId })} AND begins_with(${x.name(SK)}, ${x.value({ S: QUEUE_PREFIX })})`,
        ...x.attributes(),
        ConsistentRead: true,
        Limit: limit - taken.length,
        ...(startKey && { ExclusiveStartKey: startKey }),
      });
      const olds = await Promise.all((page.Items ?? []).map((item) => this.takeItem(clientId, sessionEpoch, item[SK]?.S ?? '')));
      for (const old of olds) {
        if (old === undefined) continue; // another taker had it, or it belongs to a newer session
        const item = queuedCodec.fromItem(old);
        if (item.epoch !== sessionEpoch) continue; // left over from an earlier session: not counted
        removed++;
        const dropped = isExpired(item.expiresAt, now) || (item.messageExpiresAt !== undefined && item.messageExpiresAt <= now);
        if (!dropped) taken.push({ ...toOutbound(item), sequence: item.sequence });
      }
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    if (removed > 0) await this.releaseQueueSlots(clientId, sessionEpoch, removed);
    return taken;
  }

  /**
   * The item as it was, if this delete removed it (conditional: concurrent takers get it once).
   * Items of older epochs are removed too (garbage); those of a newer epoch are left alone.
   */
  private async takeItem(clientId: string, sessionEpoch: string, itemKey: string): Promise<Item | undefined> {
    const x = new ExpressionBuilder();
    try {
      const { Attributes } = await this.db.deleteItem({
        TableName: this.tableName,
        Key: itemKeyOf(clientId, itemKey),
        ConditionExpression: `attribute_exists(${x.name(SK)}) AND ${x.name('epoch')} <= ${x.value({ S: sessionEpoch })}`,
        ...x.attributes(),
        ReturnValues: 'ALL_OLD',
      });
      return Attributes;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async receiveQos2(clientId: string, sessionEpoch: string, packetId: number): Promise<'new' | 'duplicate'> {
    const now = this.clock();
    const x = new ExpressionBuilder();
    try {
      await this.db.putItem({
        TableName: this.tableName,
        Item: {
          ...itemKeyOf(clientId, receiptKey(packetId)),
          epoch: { S: sessionEpoch },
          expiresAt: { N: String(this.expiresAt(now)) },
        },
        // absent, expired or of an older session: new. A newer session's receipt: a stale caller
        ConditionExpression:
          `attribute_not_exists(${x.name(SK)}) OR ${x.name('epoch')} < ${x.value({ S: sessionEpoch })} ` +
          `OR ${x.name('expiresAt')} <= ${x.value({ N: String(epochSeconds(now)) })}`,
        ...x.attributes(),
      });
      return 'new';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'duplicate';
      throw error;
    }
  }

  async releaseQos2(clientId: string, sessionEpoch: string, packetId: number): Promise<'released' | 'unknown'> {
    const x = new ExpressionBuilder();
    try {
      const { Attributes } = await this.db.deleteItem({
        TableName: this.tableName,
        Key: itemKeyOf(clientId, receiptKey(packetId)),
        ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`,
        ...x.attributes(),
        ReturnValues: 'ALL_OLD',
      });
      return isExpired(Number(Attributes?.expiresAt?.N ?? 0), this.clock()) ? 'unknown' : 'released';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'unknown';
      throw error;
    }
  }

  /** Query every key of the client, then BatchWriteItem deletes, 25 per request. */
  async deleteAll(clientId: string): Promise<void> {
    this.lastIds.delete(clientId);
    const x = new ExpressionBuilder();
    const items = await this.queryAll({
      KeyConditionExpression: `${x.name(PK)} = ${x.value({ S: clientId })}`,
      ProjectionExpression: `${x.name(PK)}, ${x.name(SK)}`,
      ...x.attributes(),
    });
    const requests: WriteRequest[] = items.map((item) => ({ DeleteRequest: { Key: itemKeyOf(clientId, item[SK]?.S ?? '') } }));
    if (!(await this.db.batchWriteAll(this.tableName, requests, MAX_ATTEMPTS))) throw new MessageStoreRetryError(clientId, 'deleteAll');
  }


  /**
   * A clean start for the counter: zero slots and queue. Only towards a newer epoch (epochs sort
   * in claim order, see session-port) or over an expired counter, and only once when concurrent.
   */
  private async resetCounter(clientId: string, sessionEpoch: string): Promise<void> {
    const now = this.clock();
    const x = new ExpressionBuilder();
    const zero = x.value({ N: '0' });
    const fields = ['next', 'inflight', 'sequence', 'queued', 'queueTail'].map((f) => `${x.name(f)} = ${zero}`);
    try {
      await this.db.updateItem({
        TableName: this.tableName,
        Key: itemKeyOf(clientId, COUNTER_KEY),
        UpdateExpression: `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ${fields.join(', ')}, ${this.ttl(x, now)} REMOVE ${x.name('ids')}`,
        ConditionExpression:
          `attribute_not_exists(${x.name('epoch')}) OR ${x.name('epoch')} < ${x.value({ S: sessionEpoch })} ` +
          `OR ${x.name('expiresAt')} <= ${x.value({ N: String(epochSeconds(now)) })}`,
        ...x.attributes(),
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async releaseQueueSlots(clientId: string, sessionEpoch: string, count: number): Promise<void> {
    const x = new ExpressionBuilder();
    try {
      await this.db.updateItem({
        TableName: this.tableName,
        Key: itemKeyOf(clientId, COUNTER_KEY),
        UpdateExpression: `ADD ${x.name('queued')} ${x.value({ N: String(-count) })}`,
        ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`,
        ...x.attributes(),
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Strongly consistent, every page: in-flight state must not be read stale. */
  private queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    return this.db.queryAll({ TableName: this.tableName, ...input, ConsistentRead: true });
  }

  private expiresAt(nowMs: number): number {
    return epochSeconds(nowMs) + this.ttlSeconds;
  }

  private ttl(x: ExpressionBuilder, nowMs: number): string {
    return `${x.name('expiresAt')} = ${x.value({ N: String(this.expiresAt(nowMs)) })}`;
  }
}

function isCurrent(counter: Counter, sessionEpoch: string, nowMs: number): boolean {
  return counter.epoch === sessionEpoch && !isExpired(counter.expiresAt, nowMs);
}

/** A live counter of a newer session: the caller's epoch is stale and must change nothing. */
function supersedes(counter: Counter, sessionEpoch: string, nowMs: number): boolean {
  return counter.epoch > sessionEpoch && !isExpired(counter.expiresAt, nowMs);
}

/** The counter is missing (the first write of a session creates it), or of this epoch and live. */
function currentEpoch(x: ExpressionBuilder, sessionEpoch: string, nowMs: number): string {
  const live = `(${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND ${x.name('expiresAt')} > ${x.value({ N: String(epochSeconds(nowMs)) })})`;
  return `(attribute_not_exists(${x.name('epoch')}) OR ${live})`;
}
