/**
 * The in-flight window of the DynamoDB MessageStore: packet ids, Receive Maximum slots and the
 * outbound messages in flight (reserve, putInflight, released, complete, inflight).
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
 * complete() deletes the in-flight item first (persistent sessions stored one), then frees the
 * slot with one conditional UpdateItem (`contains(ids, :id)`: DELETE the id, ADD -1 to the count),
 * so a duplicate PUBACK frees nothing. In that order a complete cut short leaves a slot without a
 * message (reclaimed, below), never a message under a free packet id that a later reservation of
 * the id would resend.
 *
 * Retries. reserve() and complete() store a request token on the counter (tokenGuard): the SDK's
 * resend of an applied write finds its own token and keeps the first answer. A slot whose message
 * was never stored (the reserving invocation failed before putInflight) is given back by
 * inflight(), which every resume reads, once RECLAIM_AFTER_SECONDS have passed since the last
 * reservation (`reservedAt`, checked in the same conditional write): no invocation can then still
 * be about to store it.
 */
import { epochSeconds, isExpired } from '../clock';
import { gatePasses, requiredGate } from '../gate';
import type { InflightMessage, Reservation, ReserveOptions, WindowRead } from '../message-port';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import {
  COUNTER_KEY,
  INFLIGHT_PREFIX,
  INFLIGHT_RANGE_END,
  PK,
  SK,
  counterFrom,
  inflightCodec,
  inflightKey,
  itemKeyOf,
  nextFreePacketId,
  randomFreePacketId,
  storedFields,
  toInflight,
} from './message-codec';
import {
  MAX_ATTEMPTS,
  MessageStoreRetryError,
  RECLAIM_AFTER_SECONDS,
  currentEpoch,
  isCurrent,
  supersedes,
  tokenGuard,
  type MessageTable,
} from './message-table';
import { newRequestToken } from './request-token';
import { RECLAIM_BATCH, reclaimSlots } from './message-reclaim';

export class InflightWindow {
  /** The last packet id this instance handed out per client: the next proposal is the one after */
  private readonly lastIds = new Map<string, number>();

  /**
   * @param firstPacketId makes ids sequential from this one (tests of the wrap-around); default:
   * each reservation proposes a random free id, so concurrent reservations do not collide.
   */
  constructor(
    private readonly table: MessageTable,
    private readonly firstPacketId?: number,
  ) {}

  async reserve(clientId: string, sessionEpoch: string, receiveMaximum: number, options: ReserveOptions = {}): Promise<Reservation> {
    const behindQueue = options.behindQueue === true;
    let packetId = this.proposeId(clientId, new Set());
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.table.clock();
      const token = newRequestToken();
      const result = await conditionally(
        () => this.takeSlot(clientId, sessionEpoch, receiveMaximum, packetId, now, options, token),
        (failure) => ({ old: counterFrom(failure.Item) }),
      );
      if ('outcome' in result) {
        this.lastIds.set(clientId, packetId);
        return result;
      }
      const { old } = result;
      if (old === undefined) continue;
      if (old.rq === token && old.epoch === sessionEpoch) {
        // Our own reservation, applied by an attempt whose response was lost.
        this.lastIds.set(clientId, packetId);
        return { outcome: 'reserved', packetId, sequence: old.sequence };
      }
      if (supersedes(old, sessionEpoch, now)) return { outcome: 'window-full' }; // a stale caller
      if (!isCurrent(old, sessionEpoch, now)) {
        await this.table.resetCounter(clientId, sessionEpoch);
        continue;
      }
      if (old.inflight >= receiveMaximum) return { outcome: 'window-full' };
      if (behindQueue && old.queued > 0) return { outcome: 'window-full' };
      if (!gatePasses(old.gate, options)) return { outcome: 'window-full' }; // not this connection's turn
      packetId = this.proposeId(clientId, old.ids, old.next);
    }
    throw new MessageStoreRetryError(clientId, 'reserve');
  }

  /** Forgets the client's last packet id (its state was deleted). */
  forget(clientId: string): void {
    this.lastIds.delete(clientId);
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
      expiresAt: this.table.expiresAt(this.table.clock()),
    });
    const x = new ExpressionBuilder();
    await conditionally(
      () =>
        this.table.db.putItem({
          TableName: this.table.tableName,
          Item: item,
          ConditionExpression: `attribute_not_exists(${x.name(SK)}) OR ${x.name('epoch')} <= ${x.value({ S: sessionEpoch })}`,
          ...x.attributes(),
        }),
      nothing, // a newer session owns this packet id: the caller is stale
    );
  }

  async complete(
    clientId: string,
    sessionEpoch: string,
    packetId: number,
    options: { stored?: boolean } = {},
  ): Promise<{ queued: number }> {
    // The message first, then its slot: cut short in between, the slot waits for a reclaim; the
    // other way round, a later reservation of the id would find this message and resend it.
    if (options.stored !== false) await this.deleteInflight(clientId, sessionEpoch, packetId);
    const token = newRequestToken();
    const queued = await conditionally(
      () => this.freeSlot(clientId, sessionEpoch, packetId, token),
      // Our own write whose response was lost: the queue count as it left it.
      (failure) => {
        const old = counterFrom(failure.Item);
        return old?.rq === token && old.epoch === sessionEpoch ? old.queued : undefined;
      },
    );
    return { queued: queued ?? 0 }; // undefined: already completed, or another epoch
  }

  /** Deletes the in-flight item of this epoch (one of a newer session is left alone). */
  private async deleteInflight(clientId: string, sessionEpoch: string, packetId: number): Promise<void> {
    const x = new ExpressionBuilder();
    await conditionally(
      () =>
        this.table.db.deleteItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, inflightKey(packetId)),
          ConditionExpression: `attribute_not_exists(${x.name('epoch')}) OR ${x.name('epoch')} <= ${x.value({ S: sessionEpoch })}`,
          ...x.attributes(),
        }),
      nothing,
    );
  }

  async released(clientId: string, sessionEpoch: string, packetId: number): Promise<void> {
    const x = new ExpressionBuilder();
    await conditionally(
      () =>
        this.table.db.updateItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, inflightKey(packetId)),
          UpdateExpression: `SET ${x.name('stage')} = ${x.value({ S: 'pubrel' })}`,
          ConditionExpression: `attribute_exists(${x.name(SK)}) AND ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`,
          ...x.attributes(),
        }),
      nothing, // completed meanwhile, or of another epoch
    );
  }

  async inflight(clientId: string, sessionEpoch: string): Promise<InflightMessage[]> {
    return (await this.readWindow(clientId, sessionEpoch)).messages;
  }

  /** One Query over `counter` .. `out#99999`: the counter says which stored ids are still in flight. */
  async readWindow(clientId: string, sessionEpoch: string): Promise<WindowRead> {
    const now = this.table.clock();
    const x = new ExpressionBuilder();
    const items = await this.table.queryAll({
      KeyConditionExpression:
        `${x.name(PK)} = ${x.value({ S: clientId })} AND ` +
        `${x.name(SK)} BETWEEN ${x.value({ S: COUNTER_KEY })} AND ${x.value({ S: INFLIGHT_RANGE_END })}`,
      ...x.attributes(),
    });
    const counter = counterFrom(items.find((item) => item[SK]?.S === COUNTER_KEY));
    if (counter === undefined || !isCurrent(counter, sessionEpoch, now)) return { messages: [], unstored: [] };
    const stored = items
      .filter((item) => item[SK]?.S?.startsWith(INFLIGHT_PREFIX))
      .map((item) => inflightCodec.fromItem(item))
      .filter((m) => m.epoch === sessionEpoch && !isExpired(m.expiresAt, now) && counter.ids.has(m.packetId))
      .sort((a, b) => a.sequence - b.sequence);
    const held = new Set(stored.map((m) => m.packetId));
    const orphans = [...counter.ids].filter((id) => !held.has(id));
    const reclaimable = counter.reservedAt + RECLAIM_AFTER_SECONDS <= epochSeconds(now);
    if (orphans.length > 0 && reclaimable) {
      await reclaimSlots(this.table, clientId, sessionEpoch, orphans.slice(0, RECLAIM_BATCH), now);
    }
    return { messages: stored.map(toInflight), unstored: reclaimable ? [] : orphans };
  }

  /** The conditional UpdateItem of reserve(): a slot and `packetId`, if the window has room. */
  private async takeSlot(
    clientId: string,
    sessionEpoch: string,
    receiveMaximum: number,
    packetId: number,
    now: number,
    options: ReserveOptions,
    token: string,
  ): Promise<Reservation> {
    const x = new ExpressionBuilder();
    const one = x.value({ N: '1' });
    const id = x.value({ N: String(packetId) });
    const guard = tokenGuard(x, token);
    const update =
      `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ${x.name('next')} = ${id}, ${this.table.ttl(x, now)}, ` +
      `${x.name('reservedAt')} = ${x.value({ N: String(epochSeconds(now)) })}, ${guard.set} ` +
      `ADD ${x.name('inflight')} ${one}, ${x.name('sequence')} ${one}, ${x.name('ids')} ${x.value({ NS: [String(packetId)] })}`;
    const condition =
      `${currentEpoch(x, sessionEpoch, now)} AND ${guard.condition} AND ` +
      `(attribute_not_exists(${x.name('inflight')}) OR ${x.name('inflight')} < ${x.value({ N: String(receiveMaximum) })}) ` +
      `AND NOT contains(${x.name('ids')}, ${id})` +
      (options.behindQueue === true ? ` AND (attribute_not_exists(${x.name('queued')}) OR ${x.name('queued')} = ${x.value({ N: '0' })})` : '') +
      gateCondition(x, options);
    const { Attributes } = await this.table.db.updateItem({
      TableName: this.table.tableName,
      Key: itemKeyOf(clientId, COUNTER_KEY),
      UpdateExpression: update,
      ConditionExpression: condition,
      ...x.attributes(),
      ReturnValues: 'UPDATED_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    return { outcome: 'reserved', packetId, sequence: Number(Attributes?.sequence?.N) };
  }

  /** The conditional UpdateItem of complete(): frees the id's slot; returns the queue count. */
  private async freeSlot(clientId: string, sessionEpoch: string, packetId: number, token: string): Promise<number> {
    const x = new ExpressionBuilder();
    const id = x.value({ N: String(packetId) });
    const guard = tokenGuard(x, token);
    const { Attributes } = await this.table.db.updateItem({
      TableName: this.table.tableName,
      Key: itemKeyOf(clientId, COUNTER_KEY),
      UpdateExpression:
        `SET ${guard.set} ADD ${x.name('inflight')} ${x.value({ N: '-1' })} ` + `DELETE ${x.name('ids')} ${x.value({ NS: [String(packetId)] })}`,
      ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND contains(${x.name('ids')}, ${id}) AND ${guard.condition}`,
      ...x.attributes(),
      // The counter as it is now, queue count included: it costs nothing more than the update.
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    return Number(Attributes?.queued?.N ?? '0');
  }

  /**
   * The id to propose: random and free (see randomFreePacketId), or, when `firstPacketId` fixes
   * the sequence (tests of the wrap-around), the next free one after the last.
   */
  private proposeId(clientId: string, outstanding: ReadonlySet<number>, storedNext?: number): number {
    if (this.firstPacketId === undefined) return randomFreePacketId(outstanding);
    const last = storedNext ?? this.lastIds.get(clientId);
    return last === undefined ? this.firstPacketId : nextFreePacketId(last, outstanding);
  }
}

/** The reservation's gate condition (lib/store/gate.ts `gatePasses`), or nothing when it needs none. */
function gateCondition(x: ExpressionBuilder, options: ReserveOptions): string {
  const required = requiredGate(options);
  if (required === undefined) return '';
  const equal = `${x.name('gate')} = ${x.value({ S: required })}`;
  return options.resuming === true ? ` AND ${equal}` : ` AND (attribute_not_exists(${x.name('gate')}) OR ${equal})`;
}
