/**
 * The session queue of the DynamoDB MessageStore: messages for an offline (or window-full)
 * session, bounded by a count on the counter item, taken oldest first, each taken once.
 *
 * enqueue: one conditional UpdateItem takes a queue slot and the next queue sequence, then one
 * PutItem stores the message under `q#{sequence}`. dequeue (a drain's take): a Query of the
 * queue's head, one PutItem marking the head's sequence taken (`taken#{sequence}`), one
 * TransactWriteItems that deletes the queued item and, for a persistent session, puts it in
 * flight under the drain's reservation, then one UpdateItem returning the slot. takeQueued: the
 * same without the in-flight item, one mark per message.
 *
 * Retries. The slot updates carry a request token (tokenGuard); an enqueue's is kept apart (`eq`),
 * so that the window's writes (a reservation, an ack) do not replace it before the enqueue is run
 * again (a fan-out retries a copy at once). An enqueue run again puts its message under the slot
 * it took (noted in EnqueueSlot, or found by its token still the tail), in a transaction with a
 * check that no drain has marked that sequence taken: every take marks the sequence of the item it
 * read before it deletes the item, so a message the first put queued and a drain took since is
 * never queued twice. The mark names one sequence: a drain that took a later message while this
 * one's put was still to land (puts land out of sequence order) says nothing about this one; a
 * high-water mark (`takenThrough`, before 2026-12-06) did, and the rerun then never put its
 * message: a loss. Marks expire after TAKEN_MARK_TTL_S, long after any rerun.
 *
 * A take is a delete, which leaves nothing to recognise a resend by: a resent DeleteItem finds no
 * item and the message taken by its first attempt would be lost. So a take is a transaction with
 * a ClientRequestToken, which DynamoDB answers again with success when the same request comes
 * back (within 10 minutes); and the in-flight put of a drain is conditional on the reservation
 * not holding a message yet, so a rerun of the same take answers the message the first one moved.
 */
import { epochSeconds, isExpired } from '../clock';
import { gateOf } from '../gate';
import { TransactionCanceledException, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { Enqueued, EnqueueSlot, Gate, Into, OutboundMessage, QueuedMessage } from '../message-port';
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
  takenKey,
  type QueuedItem,
  storedFields,
  toOutbound,
} from './message-codec';
import type { Item } from './marshal';
import { ENQUEUE_TOKEN, MAX_ATTEMPTS, MessageStoreRetryError, currentEpoch, isCurrent, supersedes, tokenGuard, type MessageTable } from './message-table';
import { newRequestToken } from './request-token';

/** How long a take's mark lives: reruns of an enqueue come within seconds (one invocation). */
const TAKEN_MARK_TTL_S = 3600;

export class SessionQueue {
  constructor(private readonly table: MessageTable) {}

  /**
   * Takes a queue slot on the counter (conditional UpdateItem), then puts the message. A rerun
   * (`slot` noted, or this token's slot found still the tail) puts it under that slot, unless a
   * drain has taken it from there (putUnlessTaken).
   */
  async enqueue(
    clientId: string,
    sessionEpoch: string,
    message: OutboundMessage,
    maxQueued: number,
    requestToken?: string,
    slot?: EnqueueSlot,
  ): Promise<Enqueued> {
    if (slot?.sequence !== undefined) return this.putUnlessTaken(clientId, sessionEpoch, message, slot.sequence, slot.gate);
    const token = requestToken ?? newRequestToken();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.table.clock();
      const result = await conditionally(
        () => this.takeSlot(clientId, sessionEpoch, maxQueued, now, token),
        (failure) => ({ old: counterFrom(failure.Item) }),
      );
      if ('sequence' in result) {
        const gate = gateOf(result.gate);
        if (slot !== undefined) Object.assign(slot, { sequence: result.sequence, gate });
        await this.table.db.putItem({ TableName: this.table.tableName, Item: this.queuedItem(clientId, sessionEpoch, message, result.sequence, now) });
        return { outcome: 'queued', gate };
      }
      const { old } = result;
      // Our own slot, taken by an attempt whose answer was lost: no enqueue came since (it would
      // have replaced the token), so its sequence is still the tail.
      if (old?.eq === token && old.epoch === sessionEpoch) {
        const gate = gateOf(old.gate);
        if (slot !== undefined) Object.assign(slot, { sequence: old.queueTail, gate });
        return this.putUnlessTaken(clientId, sessionEpoch, message, old.queueTail, gate);
      }
      if (old !== undefined && (isCurrent(old, sessionEpoch, now) || supersedes(old, sessionEpoch, now))) return { outcome: 'full' };
      if (old !== undefined) await this.table.resetCounter(clientId, sessionEpoch);
    }
    throw new MessageStoreRetryError(clientId, 'enqueue');
  }

  /**
   * The message put of an enqueue run again, under the slot `sequence` its first run took: in one
   * transaction with a check that no drain has marked that sequence taken (markTaken, written
   * before every take), so a message already taken is not queued a second time. Rare (a rerun
   * only), so the transaction's price is paid rarely.
   */
  private async putUnlessTaken(clientId: string, sessionEpoch: string, message: OutboundMessage, sequence: number, gate: Gate | undefined): Promise<Enqueued> {
    const x = new ExpressionBuilder();
    const unmarked = new ExpressionBuilder();
    try {
      await this.table.db.transactWriteItems({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: this.table.tableName,
              Key: itemKeyOf(clientId, COUNTER_KEY),
              ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`,
              ...x.attributes(),
            },
          },
          {
            ConditionCheck: {
              TableName: this.table.tableName,
              Key: itemKeyOf(clientId, takenKey(sequence)),
              // A mark of an earlier session (sequences restart with the counter) says nothing.
              ConditionExpression: `attribute_not_exists(${unmarked.name(PK)}) OR ${unmarked.name('epoch')} <> ${unmarked.value({ S: sessionEpoch })}`,
              ...unmarked.attributes(),
            },
          },
          { Put: { TableName: this.table.tableName, Item: this.queuedItem(clientId, sessionEpoch, message, sequence, this.table.clock()) } },
        ],
      });
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      if (error.CancellationReasons?.some((r) => r.Code !== 'ConditionalCheckFailed' && r.Code !== 'None')) throw error;
      // Marked taken by a drain already (the first put was applied), or the session moved on
    }
    return { outcome: 'queued', gate: gate ?? gateOf(undefined) };
  }

  private queuedItem(clientId: string, sessionEpoch: string, message: OutboundMessage, sequence: number, now: number): Item {
    return queuedCodec.toItem({
      clientId,
      itemKey: queueKey(sequence),
      epoch: sessionEpoch,
      ...storedFields(message),
      sequence,
      expiresAt: this.table.expiresAt(now),
    });
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
    let startKey: Item | undefined;
    while (taken.length < limit) {
      const page = await this.head(clientId, limit - taken.length, startKey);
      const items = (page.Items ?? []).map((item) => queuedCodec.fromItem(item));
      const ours = items.filter((item) => item.epoch === sessionEpoch);
      await Promise.all(ours.map((item) => this.markTaken(clientId, sessionEpoch, item.sequence)));
      const results = await Promise.all(items.map((item) => this.take(clientId, sessionEpoch, item)));
      items.forEach((item, i) => {
        if (results[i] === undefined || item.epoch !== sessionEpoch) return; // another taker had it; or garbage
        removed++;
        if (isLive(item, now)) taken.push({ ...toOutbound(item), sequence: item.sequence });
      });
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    if (removed > 0) await this.releaseSlots(clientId, sessionEpoch, removed);
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
        if (item.epoch === sessionEpoch) await this.markTaken(clientId, sessionEpoch, item.sequence);
        const outcome = await this.take(clientId, sessionEpoch, item, live ? into : undefined);
        if (outcome === undefined) continue; // another drain had it, or a newer session's
        if (outcome !== 'taken') return outcome; // the reservation holds a message already: a rerun
        if (item.epoch === sessionEpoch) await this.releaseSlots(clientId, sessionEpoch, 1);
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
   * Marks `sequence` taken before a take of it (one PutItem, idempotent), so that an enqueue run
   * again under that slot finds it (putUnlessTaken) from before the take on. Written only for a
   * message read from the queue: a mark means the message was put. Expires after
   * TAKEN_MARK_TTL_S; deleteAll removes it with its epoch.
   */
  private async markTaken(clientId: string, sessionEpoch: string, sequence: number): Promise<void> {
    await this.table.db.putItem({
      TableName: this.table.tableName,
      Item: {
        ...itemKeyOf(clientId, takenKey(sequence)),
        epoch: { S: sessionEpoch },
        expiresAt: { N: String(epochSeconds(this.table.clock()) + TAKEN_MARK_TTL_S) },
      },
    });
  }

  /** Gives back the slots of `count` taken messages, unless the counter moved to another epoch. */
  private async releaseSlots(clientId: string, sessionEpoch: string, count: number): Promise<void> {
    const x = new ExpressionBuilder();
    const guard = tokenGuard(x, newRequestToken());
    await conditionally(
      () =>
        this.table.db.updateItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, COUNTER_KEY),
          UpdateExpression: `SET ${guard.set} ADD ${x.name('queued')} ${x.value({ N: String(-count) })}`,
          // Failed: another epoch's counter, or this write's own resend (its token is there)
          ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND ${guard.condition}`,
          ...x.attributes(),
        }),
      nothing,
    );
  }
}

/** Neither the item's TTL nor its Message Expiry Interval has passed [MQTT-3.3.2-5]. */
function isLive(item: QueuedItem, now: number): boolean {
  return !isExpired(item.expiresAt, now) && (item.messageExpiresAt === undefined || item.messageExpiresAt > now);
}
