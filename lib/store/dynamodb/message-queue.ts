/**
 * The session queue of the DynamoDB MessageStore: messages for an offline (or window-full)
 * session, bounded by a count on the counter item, taken oldest first, each taken once.
 *
 * enqueue: one conditional UpdateItem takes a queue slot and the next queue sequence, then one
 * PutItem stores the message under `q#{sequence}`. dequeue (a drain's take): a Query of the
 * queue's head, then one TransactWriteItems that deletes the queued item and, for a persistent
 * session, puts it in flight under the drain's reservation, then one UpdateItem returning the
 * slot. takeQueued: the same without the in-flight item.
 *
 * Retries. The slot updates carry a request token (tokenGuard); an enqueue's is kept apart (`eq`),
 * so that the window's writes (a reservation, an ack) do not replace it before the enqueue is run
 * again (a fan-out retries a copy at once). An enqueue run again finds its own slot still the
 * tail, and puts the message only if no take has given back a slot at or past it since
 * (`takenThrough`, raised by the take's slot release): a message a drain took already is not
 * queued twice. Left: a rerun between a take and its slot release puts it again.
 *
 * A take is a delete, which leaves nothing to recognise a resend by: a resent DeleteItem finds no
 * item and the message taken by its first attempt would be lost. So a take is a transaction with
 * a ClientRequestToken, which DynamoDB answers again with success when the same request comes
 * back (within 10 minutes); and the in-flight put of a drain is conditional on the reservation
 * not holding a message yet, so a rerun of the same take answers the message the first one moved.
 */
import { isExpired } from '../clock';
import { gateOf } from '../gate';
import { TransactionCanceledException, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { Enqueued, Into, OutboundMessage, QueuedMessage } from '../message-port';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import {
  COUNTER_KEY,
  PK,
  QUEUE_PREFIX,
  SK,
  counterFrom,
  inflightCodec,
  inflightKey,
  itemKeyOf,
  queueKey,
  queuedCodec,
  type QueuedItem,
  storedFields,
  toOutbound,
} from './message-codec';
import type { Item } from './marshal';
import { ENQUEUE_TOKEN, MAX_ATTEMPTS, MessageStoreRetryError, currentEpoch, isCurrent, supersedes, tokenGuard, type MessageTable } from './message-table';
import { newRequestToken } from './request-token';

export class SessionQueue {
  constructor(private readonly table: MessageTable) {}

  /** Takes a queue slot on the counter (conditional UpdateItem), then puts the message. */
  async enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number, requestToken?: string): Promise<Enqueued> {
    const token = requestToken ?? newRequestToken();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.table.clock();
      let result = await conditionally(
        () => this.takeSlot(clientId, sessionEpoch, maxQueued, now, token),
        (failure) => ({ old: counterFrom(failure.Item) }),
      );
      // Our own slot, taken by an attempt whose answer was lost: no enqueue came since (it would
      // have replaced the token), so its sequence is still the tail. A take that gave back a slot
      // at or past it took our message: it is not put again (a second copy).
      if ('old' in result && result.old?.eq === token && result.old.epoch === sessionEpoch) {
        if (result.old.takenThrough >= result.old.queueTail) return { outcome: 'queued', gate: gateOf(result.old.gate) };
        result = { sequence: result.old.queueTail, gate: result.old.gate };
      }
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
   * Query the queue oldest first, then take each (./message-queue.ts `take`): only the taker whose
   * transaction succeeded has it, so each message is taken once under concurrent takers.
   * Expired messages and items of another epoch are deleted and skipped.
   */
  async takeQueued(clientId: string, sessionEpoch: string, limit: number): Promise<QueuedMessage[]> {
    const now = this.table.clock();
    const taken: QueuedMessage[] = [];
    let removed = 0;
    let through = 0;
    let startKey: Item | undefined;
    while (taken.length < limit) {
      const page = await this.head(clientId, limit - taken.length, startKey);
      const items = (page.Items ?? []).map((item) => queuedCodec.fromItem(item));
      const results = await Promise.all(items.map((item) => this.take(clientId, sessionEpoch, item)));
      items.forEach((item, i) => {
        if (results[i] === undefined || item.epoch !== sessionEpoch) return; // another taker had it; or garbage
        removed++;
        through = Math.max(through, item.sequence);
        if (isLive(item, now)) taken.push({ ...toOutbound(item), sequence: item.sequence });
      });
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    if (removed > 0) await this.releaseSlots(clientId, sessionEpoch, removed, through);
    return taken;
  }

  /** The oldest live message leaves the queue, kept in flight under `into` for a persistent session. */
  async dequeue(clientId: string, sessionEpoch: string, into: Into): Promise<QueuedMessage | undefined> {
    const now = this.table.clock();
    if (into.keep && into.rerun === true) {
      const held = await this.held(clientId, sessionEpoch, into);
      if (held !== undefined) return held;
    }
    let startKey: Item | undefined;
    do {
      const page = await this.head(clientId, 2, startKey);
      for (const item of (page.Items ?? []).map((i) => queuedCodec.fromItem(i))) {
        const live = item.epoch === sessionEpoch && isLive(item, now);
        const outcome = await this.take(clientId, sessionEpoch, item, live ? into : undefined);
        if (outcome === undefined) continue; // another drain had it, or a newer session's
        if (outcome !== 'taken') return outcome; // the reservation holds a message already: a rerun
        if (item.epoch === sessionEpoch) await this.releaseSlots(clientId, sessionEpoch, 1, item.sequence);
        if (live) return { ...toOutbound(item), sequence: item.sequence };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return undefined;
  }

  /** The message the reservation holds in flight already (a take applied before), if any. */
  private async held(clientId: string, sessionEpoch: string, into: Into): Promise<QueuedMessage | undefined> {
    const { Item } = await this.table.db.getItem({
      TableName: this.table.tableName,
      Key: itemKeyOf(clientId, inflightKey(into.packetId)),
      ConsistentRead: true,
    });
    if (Item === undefined) return undefined;
    const inflight = inflightCodec.fromItem(Item);
    if (inflight.epoch !== sessionEpoch || inflight.sequence !== into.sequence) return undefined;
    return { ...toOutbound(inflight), sequence: inflight.sequence };
  }

  /** A page of the queue, oldest first. */
  private head(clientId: string, limit: number, startKey: Item | undefined) {
    const x = new ExpressionBuilder();
    return this.table.db.query({
      TableName: this.table.tableName,
      KeyConditionExpression: `${x.name(PK)} = ${x.value({ S: clientId })} AND begins_with(${x.name(SK)}, ${x.value({ S: QUEUE_PREFIX })})`,
      ...x.attributes(),
      ConsistentRead: true,
      Limit: limit,
      ...(startKey && { ExclusiveStartKey: startKey }),
    });
  }

  /**
   * Takes one queued item: deletes it (if it still exists and is not a newer session's) and, with
   * `into.keep`, puts it in flight under the reservation, in one transaction with a request token.
   * 'taken'; undefined when another taker had it; or the message the reservation holds already
   * (a rerun of a take whose answer was lost), left as it is.
   */
  private async take(clientId: string, sessionEpoch: string, item: QueuedItem, into?: Into): Promise<'taken' | QueuedMessage | undefined> {
    const x = new ExpressionBuilder();
    const epoch = x.value({ S: sessionEpoch });
    const actions: TransactWriteItem[] = [
      {
        Delete: {
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, item.itemKey),
          ConditionExpression: `attribute_exists(${x.name(SK)}) AND ${x.name('epoch')} <= ${epoch}`,
          ...x.attributes(),
        },
      },
    ];
    if (into?.keep === true) actions.push({ Put: this.inflightPut(clientId, sessionEpoch, item, into) });
    try {
      await this.table.db.transactWriteItems({ TransactItems: actions, ClientRequestToken: newRequestToken() });
      return 'taken';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const held = error.CancellationReasons?.[1];
      if (held?.Code === 'ConditionalCheckFailed' && held.Item !== undefined) {
        const inflight = inflightCodec.fromItem(held.Item);
        return { ...toOutbound(inflight), sequence: item.sequence };
      }
      if (error.CancellationReasons?.some((r) => r.Code !== 'ConditionalCheckFailed' && r.Code !== 'None')) throw error;
      return undefined;
    }
  }

  /** The in-flight put of a take: not over a message this reservation (epoch, sequence) holds already. */
  private inflightPut(clientId: string, sessionEpoch: string, item: QueuedItem, into: Into): NonNullable<TransactWriteItem['Put']> {
    return {
      TableName: this.table.tableName,
      Item: inflightCodec.toItem({
        ...item,
        clientId,
        itemKey: inflightKey(into.packetId),
        packetId: into.packetId,
        stage: 'publish',
        sequence: into.sequence,
        expiresAt: this.table.expiresAt(this.table.clock()),
      }),
      ConditionExpression: 'attribute_not_exists(#sk) OR #epoch < :epoch OR (#epoch = :epoch AND #sequence <> :sequence)',
      ExpressionAttributeNames: { '#sk': SK, '#epoch': 'epoch', '#sequence': 'sequence' },
      ExpressionAttributeValues: { ':epoch': { S: sessionEpoch }, ':sequence': { N: String(into.sequence) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
  }

  /**
   * The conditional UpdateItem of enqueue(): a slot, if fewer than `maxQueued` wait; the new tail
   * and the gate (ALL_NEW costs no more than UPDATED_NEW).
   */
  private async takeSlot(
    clientId: string,
    sessionEpoch: string,
    maxQueued: number,
    now: number,
    token: string,
  ): Promise<{ sequence: number; gate?: string }> {
    const x = new ExpressionBuilder();
    const one = x.value({ N: '1' });
    const guard = tokenGuard(x, token, ENQUEUE_TOKEN);
    const { Attributes } = await this.table.db.updateItem({
      TableName: this.table.tableName,
      Key: itemKeyOf(clientId, COUNTER_KEY),
      UpdateExpression:
        `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ${this.table.ttl(x, now)}, ${guard.set} ` +
        `ADD ${x.name('queued')} ${one}, ${x.name('queueTail')} ${one}`,
      ConditionExpression:
        `${currentEpoch(x, sessionEpoch, now)} AND ${guard.condition} AND ` +
        `(attribute_not_exists(${x.name('queued')}) OR ${x.name('queued')} < ${x.value({ N: String(maxQueued) })})`,
      ...x.attributes(),
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    return { sequence: Number(Attributes?.queueTail?.N), gate: Attributes?.gate?.S };
  }

  /**
   * Gives back the slots of `count` taken messages, unless the counter moved to another epoch, and
   * raises `takenThrough` to `through`, the highest sequence taken (an enqueue run again under its
   * token reads it: see enqueue). Takes release out of order, so the raise is conditional; when a
   * higher one is there already, the slots are given back without it (a second write, rare).
   */
  private async releaseSlots(clientId: string, sessionEpoch: string, count: number, through: number): Promise<void> {
    const release = async (raise: boolean): Promise<'lower' | undefined> => {
      const x = new ExpressionBuilder();
      const token = newRequestToken();
      const guard = tokenGuard(x, token);
      // Named only when used: DynamoDB refuses a request with an unused name or value
      const taken = raise ? x.name('takenThrough') : '';
      const seq = raise ? x.value({ N: String(through) }) : '';
      return conditionally(
        async () => {
          await this.table.db.updateItem({
            TableName: this.table.tableName,
            Key: itemKeyOf(clientId, COUNTER_KEY),
            UpdateExpression: `SET ${guard.set}${raise ? `, ${taken} = ${seq}` : ''} ADD ${x.name('queued')} ${x.value({ N: String(-count) })}`,
            // Failed: another epoch's counter, this write's own resend (its token is there), or a
            // higher takenThrough (then again, without the raise)
            ConditionExpression:
              `${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND ${guard.condition}` +
              (raise ? ` AND (attribute_not_exists(${taken}) OR ${taken} < ${seq})` : ''),
            ...x.attributes(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          });
          return undefined;
        },
        (failure) => {
          const old = counterFrom(failure.Item);
          return raise && old?.epoch === sessionEpoch && old.rq !== token && old.takenThrough >= through ? 'lower' : undefined;
        },
      );
    };
    if ((await release(true)) === 'lower') await release(false);
  }
}

/** Neither the item's TTL nor its Message Expiry Interval has passed [MQTT-3.3.2-5]. */
function isLive(item: QueuedItem, now: number): boolean {
  return !isExpired(item.expiresAt, now) && (item.messageExpiresAt === undefined || item.messageExpiresAt > now);
}
