/**
 * The session queue of the DynamoDB MessageStore: messages for an offline (or window-full)
 * session, bounded by a count on the counter item, taken oldest first, each taken once.
 *
 * enqueue: one conditional UpdateItem takes a queue slot and the next queue sequence, then one
 * PutItem stores the message under `q#{sequence}`. takeQueued: a Query of the queue, then a
 * conditional DeleteItem per item (ALL_OLD), then one UpdateItem returning the slots.
 */
import { isExpired } from '../clock';
import { gateOf } from '../gate';
import type { Enqueued, OutboundMessage, QueuedMessage } from '../message-port';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import {
  COUNTER_KEY,
  PK,
  QUEUE_PREFIX,
  SK,
  counterFrom,
  itemKeyOf,
  queueKey,
  queuedCodec,
  storedFields,
  toOutbound,
} from './message-codec';
import type { Item } from './marshal';
import { MAX_ATTEMPTS, MessageStoreRetryError, currentEpoch, isCurrent, supersedes, type MessageTable } from './message-table';

export class SessionQueue {
  constructor(private readonly table: MessageTable) {}

  /** Takes a queue slot on the counter (conditional UpdateItem), then puts the message. */
  async enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number): Promise<Enqueued> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.table.clock();
      const result = await conditionally(
        () => this.takeSlot(clientId, sessionEpoch, maxQueued, now),
        (failure) => ({ old: counterFrom(failure.Item) }),
      );
      if ('sequence' in result) {
        const item = queuedCodec.toItem({
          clientId,
          itemKey: queueKey(result.sequence),
          epoch: sessionEpoch,
          ...storedFields(message),
          sequence: result.sequence,
          expiresAt: this.table.expiresAt(now),
        });
        await this.table.db.putItem({ TableName: this.table.tableName, Item: item });
        return { outcome: 'queued', gate: gateOf(result.gate) };
      }
      const { old } = result;
      if (old !== undefined && (isCurrent(old, sessionEpoch, now) || supersedes(old, sessionEpoch, now))) return { outcome: 'full' };
      if (old !== undefined) await this.table.resetCounter(clientId, sessionEpoch);
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
    const now = this.table.clock();
    const taken: QueuedMessage[] = [];
    let removed = 0;
    let startKey: Item | undefined;
    while (taken.length < limit) {
      const x = new ExpressionBuilder();
      const page = await this.table.db.query({
        TableName: this.table.tableName,
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
    if (removed > 0) await this.releaseSlots(clientId, sessionEpoch, removed);
    return taken;
  }

  /**
   * The conditional UpdateItem of enqueue(): a slot, if fewer than `maxQueued` wait; the new tail
   * and the gate (ALL_NEW costs no more than UPDATED_NEW).
   */
  private async takeSlot(clientId: string, sessionEpoch: string, maxQueued: number, now: number): Promise<{ sequence: number; gate?: string }> {
    const x = new ExpressionBuilder();
    const one = x.value({ N: '1' });
    const { Attributes } = await this.table.db.updateItem({
      TableName: this.table.tableName,
      Key: itemKeyOf(clientId, COUNTER_KEY),
      UpdateExpression:
        `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ${this.table.ttl(x, now)} ` +
        `ADD ${x.name('queued')} ${one}, ${x.name('queueTail')} ${one}`,
      ConditionExpression:
        `${currentEpoch(x, sessionEpoch, now)} AND ` +
        `(attribute_not_exists(${x.name('queued')}) OR ${x.name('queued')} < ${x.value({ N: String(maxQueued) })})`,
      ...x.attributes(),
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    return { sequence: Number(Attributes?.queueTail?.N), gate: Attributes?.gate?.S };
  }

  /**
   * The item as it was, if this delete removed it (conditional: concurrent takers get it once).
   * Items of older epochs are removed too (garbage); those of a newer epoch are left alone.
   */
  private takeItem(clientId: string, sessionEpoch: string, itemKey: string): Promise<Item | undefined> {
    const x = new ExpressionBuilder();
    return conditionally(async () => {
      const { Attributes } = await this.table.db.deleteItem({
        TableName: this.table.tableName,
        Key: itemKeyOf(clientId, itemKey),
        ConditionExpression: `attribute_exists(${x.name(SK)}) AND ${x.name('epoch')} <= ${x.value({ S: sessionEpoch })}`,
        ...x.attributes(),
        ReturnValues: 'ALL_OLD',
      });
      return Attributes;
    }, nothing);
  }

  /** Gives back the slots of `count` taken messages, unless the counter moved to another epoch. */
  private async releaseSlots(clientId: string, sessionEpoch: string, count: number): Promise<void> {
    const x = new ExpressionBuilder();
    await conditionally(
      () =>
        this.table.db.updateItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, COUNTER_KEY),
          UpdateExpression: `ADD ${x.name('queued')} ${x.value({ N: String(-count) })}`,
          ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`,
          ...x.attributes(),
        }),
      nothing,
    );
  }
}
