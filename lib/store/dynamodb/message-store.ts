/**
 * MessageStore on the `messages` table (item layout in ./message-codec), composed of one module
 * per job over the same table and counter item (./message-table):
 * - ./message-window: packet ids, the Receive Maximum window and the messages in flight;
 * - ./message-queue: the session queue;
 * - ./message-gate: which connection may be sent the session's copies (held by a resume);
 * - ./qos2-receipts: inbound QoS 2 receipts.
 * deleteAll, which clears all four for the epochs it is given, is here.
 */
import { systemClock } from '../clock';
import type {
  EnqueueOptions,
  Enqueued,
  GateOpening,
  InflightMessage,
  WindowRead,
  Into,
  MessageStore,
  OutboundMessage,
  QueuedMessage,
  Reservation,
  ReserveOptions,
} from '../message-port';
import type { EpochScope } from '../subscription-port';
import { inScope } from '../subscription-rules';
import { conditionally, nothing } from './conditionally';
import type { DynamoStoreOptions } from './connection-store';
import { ExpressionBuilder } from './expressions';
import { SessionGate } from './message-gate';
import { PK, SK, itemKeyOf } from './message-codec';
import { SessionQueue } from './message-queue';
import { DEFAULT_MESSAGE_TTL_SECONDS, MessageTable } from './message-table';
import { InflightWindow } from './message-window';
import type { MeteredDynamoDb } from './metered';
import { Qos2Receipts } from './qos2-receipts';

/** DeleteItems of one deleteAll in flight at once. */
const DELETE_PARALLEL = 25;

export interface DynamoMessageStoreOptions extends DynamoStoreOptions {
  /** TTL of every item written, seconds from the write; default 7 days + 1 hour */
  ttlSeconds?: number;
  /**
   * Makes ids sequential from this one (tests of the wrap-around). Default: each reservation
   * proposes a random free id, so concurrent reservations do not collide.
   */
  firstPacketId?: number;
}

export class DynamoMessageStore implements MessageStore {
  private readonly table: MessageTable;
  private readonly window: InflightWindow;
  private readonly queue: SessionQueue;
  private readonly receipts: Qos2Receipts;
  private readonly gate: SessionGate;

  constructor(db: MeteredDynamoDb, tableName: string, options: DynamoMessageStoreOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.table = new MessageTable(db, tableName, clock, options.ttlSeconds ?? DEFAULT_MESSAGE_TTL_SECONDS);
    this.window = new InflightWindow(this.table, options.firstPacketId);
    this.queue = new SessionQueue(this.table);
    this.receipts = new Qos2Receipts(this.table);
    this.gate = new SessionGate(this.table);
  }

  reserve(clientId: string, sessionEpoch: string, receiveMaximum: number, options?: ReserveOptions): Promise<Reservation> {
    return this.window.reserve(clientId, sessionEpoch, receiveMaximum, options);
  }

  putInflight(clientId: string, sessionEpoch: string, message: InflightMessage): Promise<void> {
    return this.window.putInflight(clientId, sessionEpoch, message);
  }

  complete(clientId: string, sessionEpoch: string, packetId: number, options?: { stored?: boolean }): Promise<{ queued: number }> {
    return this.window.complete(clientId, sessionEpoch, packetId, options);
  }

  released(clientId: string, sessionEpoch: string, packetId: number): Promise<void> {
    return this.window.released(clientId, sessionEpoch, packetId);
  }

  inflight(clientId: string, sessionEpoch: string): Promise<InflightMessage[]> {
    return this.window.inflight(clientId, sessionEpoch);
  }

  readWindow(clientId: string, sessionEpoch: string): Promise<WindowRead> {
    return this.window.readWindow(clientId, sessionEpoch);
  }

  enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number, options?: EnqueueOptions): Promise<Enqueued> {
    return this.queue.enqueue(clientId, sessionEpoch, message, maxQueued, options?.requestToken, options?.slot);
  }

  holdGate(clientId: string, sessionEpoch: string, connectionId: string): Promise<{ queued: number }> {
    return this.gate.hold(clientId, sessionEpoch, connectionId);
  }

  openGate(clientId: string, sessionEpoch: string, connectionId: string, receiveMaximum: number, force = false): Promise<GateOpening> {
    return this.gate.open(clientId, sessionEpoch, connectionId, receiveMaximum, force);
  }

  closeGate(clientId: string, sessionEpoch: string, connectionId: string): Promise<void> {
    return this.gate.close(clientId, sessionEpoch, connectionId);
  }

  takeQueued(clientId: string, sessionEpoch: string, limit: number): Promise<QueuedMessage[]> {
    return this.queue.takeQueued(clientId, sessionEpoch, limit);
  }

  dequeue(clientId: string, sessionEpoch: string, into: Into): Promise<QueuedMessage | undefined> {
    return this.queue.dequeue(clientId, sessionEpoch, into);
  }

  receiveQos2(clientId: string, sessionEpoch: string, packetId: number, from?: string, requestToken?: string): Promise<'new' | 'duplicate'> {
    return this.receipts.receive(clientId, sessionEpoch, packetId, from, requestToken);
  }

  forgetQos2(clientId: string, sessionEpoch: string, packetId: number, requestToken: string): Promise<void> {
    return this.receipts.forget(clientId, sessionEpoch, packetId, requestToken);
  }

  releaseQos2(clientId: string, sessionEpoch: string, packetId: number, from?: string): Promise<'released' | 'unknown'> {
    return this.receipts.release(clientId, sessionEpoch, packetId, from);
  }

  /**
   * Query the client's keys and epochs, then one DeleteItem per item in scope, conditional on its
   * epoch still being in scope (the counter's key is reused by a newer session), a few at a time.
   * The same write units as a BatchWriteItem (1 per item), and no newer session's item is lost.
   */
  async deleteAll(clientId: string, scope: EpochScope): Promise<void> {
    this.window.forget(clientId);
    const x = new ExpressionBuilder();
    const items = await this.table.queryAll({
      KeyConditionExpression: `${x.name(PK)} = ${x.value({ S: clientId })}`,
      ProjectionExpression: `${x.name(PK)}, ${x.name(SK)}, ${x.name('epoch')}`,
      ...x.attributes(),
    });
    const doomed = items.filter((item) => item.epoch?.S === undefined || inScope(item.epoch.S, scope));
    for (let i = 0; i < doomed.length; i += DELETE_PARALLEL) {
      await Promise.all(doomed.slice(i, i + DELETE_PARALLEL).map((item) => this.deleteInScope(clientId, item[SK]?.S ?? '', scope)));
    }
  }

  private async deleteInScope(clientId: string, itemKey: string, scope: EpochScope): Promise<void> {
    const x = new ExpressionBuilder();
    const epoch = x.name('epoch');
    const bound = 'before' in scope ? `${epoch} < ${x.value({ S: scope.before })}` : `${epoch} <= ${x.value({ S: scope.through })}`;
    await conditionally(
      () =>
        this.table.db.deleteItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, itemKey),
          ConditionExpression: `attribute_not_exists(${epoch}) OR ${bound}`,
          ...x.attributes(),
        }),
      nothing, // rewritten by a newer session meanwhile: it stays
    );
  }
}
