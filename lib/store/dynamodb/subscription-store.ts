/**
 * SubscriptionStore on the `subscriptions` table (PK routeKey, SK subKey; index byClient: PK
 * clientId, SK filter, projection ALL).
 *
 * Requests per operation (n = the client's live subscriptions, k = filters in the call):
 * - routesFor(topic): one eventually consistent Query per candidate route key (at most 3, in
 *   parallel: one round trip), 0.5 RRU per 4 KB read, more pages only past 1 MB per key;
 * - listByClient: one Query of the byClient index (eventually consistent, as every GSI read);
 * - put and delete for a SessionWriter (SUBSCRIBE, UNSUBSCRIBE): one TransactWriteItems of a
 *   ConditionCheck on the session item (`sessionEpoch` and owner `connectionId`) plus one Put per
 *   record or one Delete per filter (up to 99 per transaction; more in parallel transactions).
 *   AWS bills 2 WRU per item in a transaction (the check included) plus 1 WRU per byClient index
 *   write. Idempotent: a resend of the same input carries the same ClientRequestToken, and none of
 *   its conditions can fail on its own earlier write;
 * - put and delete without a writer (tests, tools): one PutItem per record, one DeleteItem per filter;
 * - setExpiry: listByClient, then one conditional UpdateItem per record of the epoch;
 * - attach: listByClient, then one conditional UpdateItem per record of the epoch and one
 *   conditional DeleteItem per record of an older epoch, in parallel (a newer one is left alone);
 * - deleteAll: listByClient, then one conditional DeleteItem per record in scope, in parallel.
 * Every write of a small item (under 1 KB) is 2 WRU: 1 for the table and 1 for the byClient index,
 * which projects ALL and so is written on every put, update and delete (a failed condition is
 * still billed, 1 WRU, and writes no index).
 *
 * The writes after a listByClient are conditional on the item still belonging to the epoch that
 * was listed: an UNSUBSCRIBE running meanwhile is not undone (an UpdateItem on a missing key would
 * create a partial item), and a record a newer session has just written is not deleted.
 */
import { TransactionCanceledException, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { candidateRouteKeys } from '../../mqtt/topic';
import { isExpired, systemClock, type Clock } from '../clock';
import { BY_CLIENT_INDEX, TABLE_SCHEMAS, TTL_ATTRIBUTE } from '../schema';
import { SessionTakenOverError } from '../errors';
import type {
  AttachOptions,
  EpochScope,
  SessionWriter,
  SubscriberConnection,
  SubscriptionRecord,
  SubscriptionStore,
} from '../subscription-port';
import { inScope, lastPerFilter, newestEpochOnly } from '../subscription-rules';
import type { DynamoStoreOptions } from './connection-store';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
import { newRequestToken } from './request-token';
import { storedRouteKey } from './route-key';
import {
  ROUTE_KEY,
  connectionAttribute,
  fromSubscriptionItem,
  recordKey,
  routeKeyOfFilter,
  subscriptionKey,
  toSubscriptionItem,
} from './subscription-codec';

/** Items per transaction besides the session check (TransactWriteItems takes 100 actions). */
const TRANSACTION_ITEMS = 99;
/** Attempts of a transaction that conflicts with a concurrent write. */
const CONFLICT_ATTEMPTS = 4;

export interface DynamoSubscriptionStoreOptions extends DynamoStoreOptions {
  /** The `sessions` table, whose item a SessionWriter's writes are conditional on. */
  sessionsTable?: string;
}

export class DynamoSubscriptionStore implements SubscriptionStore {
  private readonly clock: Clock;
  private readonly sessionsTable?: string;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoSubscriptionStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.sessionsTable = options.sessionsTable;
  }

  async routesFor(topic: string): Promise<SubscriptionRecord[]> {
    const pages = await Promise.all(
      candidateRouteKeys(topic).map((key) => {
        const x = new ExpressionBuilder();
        return this.db.queryAll({
          TableName: this.tableName,
          KeyConditionExpression: `${x.name(ROUTE_KEY)} = ${x.value({ S: storedRouteKey(key) })}`,
          ...x.attributes(),
        });
      }),
    );
    return newestEpochOnly(this.live(pages.flat()));
  }

  async listByClient(clientId: string): Promise<SubscriptionRecord[]> {
    const x = new ExpressionBuilder();
    const items = await this.db.queryAll({
      TableName: this.tableName,
      IndexName: BY_CLIENT_INDEX,
      KeyConditionExpression: `${x.name('clientId')} = ${x.value({ S: clientId })}`,
      ...x.attributes(),
    });
    // in filter order: the index sorts a long filter by its stored (hashed) form
    return this.live(items).sort((a, b) => (a.filter < b.filter ? -1 : a.filter > b.filter ? 1 : 0));
  }

  async put(records: readonly SubscriptionRecord[], writer?: SessionWriter): Promise<void> {
    const items = lastPerFilter(records).map(toSubscriptionItem);
    if (writer === undefined) {
      await Promise.all(items.map((Item) => this.db.putItem({ TableName: this.tableName, Item })));
      return;
    }
    if (items.length === 0) return;
    await this.forSession(records[0].clientId, writer, items.map((Item) => ({ Put: { TableName: this.tableName, Item } })));
  }

  async delete(clientId: string, filters: readonly string[], writer?: SessionWriter): Promise<void> {
    const keys = [...new Set(filters)].flatMap((filter) => {
      const routeKey = routeKeyOfFilter(filter);
      // not a valid shared subscription: never stored
      return routeKey === undefined ? [] : [subscriptionKey(routeKey, clientId, filter)];
    });
    if (writer === undefined) {
      await Promise.all(keys.map((Key) => this.db.deleteItem({ TableName: this.tableName, Key })));
      return;
    }
    if (keys.length === 0) return;
    await this.forSession(clientId, writer, keys.map((Key) => ({ Delete: { TableName: this.tableName, Key } })));
  }

  async attach(
    clientId: string,
    sessionEpoch: string,
    connection: SubscriberConnection | null,
    expiresAt: number,
    options: AttachOptions = {},
  ): Promise<void> {
    const records = await this.listByClient(clientId);
    // A newer session's records are not this attach's: a late disconnect path of an old
    // connection must not delete them (epochs sort in claim order).
    await Promise.all(
      records
        .filter((record) => inScope(record.sessionEpoch, { through: sessionEpoch }))
        .map((record) =>
          record.sessionEpoch === sessionEpoch && options.drop?.(record.filter) !== true
            ? this.setConnection(record, connection, expiresAt, options)
            : this.deleteOfEpoch(record),
        ),
    );
  }

  async deleteAll(clientId: string, scope: EpochScope): Promise<void> {
    const records = await this.listByClient(clientId);
    await Promise.all(records.filter((r) => inScope(r.sessionEpoch, scope)).map((record) => this.deleteOfEpoch(record)));
  }

  async setExpiry(clientId: string, sessionEpoch: string, expiresAt: number): Promise<void> {
    const records = (await this.listByClient(clientId)).filter((r) => r.sessionEpoch === sessionEpoch);
    await Promise.all(
      records.map((record) => {
        const x = new ExpressionBuilder();
        // lost to an UNSUBSCRIBE or a newer session: nothing to do (and no partial item created)
        return conditionally(
          () =>
            this.db.updateItem({
              TableName: this.tableName,
              Key: recordKey(record),
              UpdateExpression: `SET ${x.name(TTL_ATTRIBUTE)} = ${x.value({ N: String(expiresAt) })}`,
              ConditionExpression: this.epochCondition(x, sessionEpoch),
              ...x.attributes(),
            }),
          nothing,
        );
      }),
    );
  }

  /**
   * The writes, each transaction with a check that `writer` still owns the session under its
   * epoch: all or nothing per transaction; SessionTakenOverError when the check fails.
   */
  private async forSession(clientId: string, writer: SessionWriter, writes: TransactWriteItem[]): Promise<void> {
    const check = this.ownerCheck(clientId, writer);
    const chunks: TransactWriteItem[][] = [];
    for (let i = 0; i < writes.length; i += TRANSACTION_ITEMS) chunks.push(writes.slice(i, i + TRANSACTION_ITEMS));
    await Promise.all(chunks.map((chunk) => this.transact(clientId, writer, [check, ...chunk])));
  }

  /**
   * One transaction. A conflict with another write of the session item or of a record (another
   * SUBSCRIBE of the client, a CONNECT, a close) cancels it without applying anything: it is tried
   * again, a few times, after a short random pause. The SDK does not retry a cancellation.
   */
  private async transact(clientId: string, writer: SessionWriter, items: TransactWriteItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // one token per attempt, made before it is sent: the SDK's resends of it carry it
        await this.db.transactWriteItems({ TransactItems: items, ClientRequestToken: newRequestToken() });
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = error.CancellationReasons?.map((r) => r.Code) ?? [];
        if (codes[0] === 'ConditionalCheckFailed') throw new SessionTakenOverError(clientId, writer.connectionId, { cause: error });
        if (!codes.includes('TransactionConflict') || attempt >= CONFLICT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
      }
    }
  }

  /** The session item still names this epoch and this owner connection (SessionRecord fields). */
  private ownerCheck(clientId: string, writer: SessionWriter): TransactWriteItem {
    if (this.sessionsTable === undefined) throw new Error('DynamoSubscriptionStore: writes with a SessionWriter need `sessionsTable`');
    const x = new ExpressionBuilder();
    const condition =
      `${x.name('sessionEpoch')} = ${x.value({ S: writer.sessionEpoch })} AND ` +
      `${x.name('connectionId')} = ${x.value({ S: writer.connectionId })}`;
    return {
      ConditionCheck: {
        TableName: this.sessionsTable,
        Key: { [TABLE_SCHEMAS.sessions.partitionKey.name]: { S: clientId } },
        ConditionExpression: condition,
        ...x.attributes(),
      },
    };
  }

  /** Copies the connection into one record (or removes it) and moves its TTL, if it is still of its epoch. */
  private async setConnection(
    record: SubscriptionRecord,
    connection: SubscriberConnection | null,
    expiresAt: number,
    options: AttachOptions,
  ): Promise<void> {
    const { onlyIfConnectionId, persistent } = options;
    const x = new ExpressionBuilder();
    const owner =
      onlyIfConnectionId === undefined
        ? ''
        : ` AND ${x.name('connection')}.${x.name('connectionId')} = ${x.value({ S: onlyIfConnectionId })}`;
    const ttl =
      `${x.name(TTL_ATTRIBUTE)} = ${x.value({ N: String(expiresAt) })}` +
      (persistent === undefined ? '' : `, ${x.name('persistent')} = ${x.value({ BOOL: persistent })}`);
    const update =
      connection === null
        ? `SET ${ttl} REMOVE ${x.name('connection')}`
        : `SET ${ttl}, ${x.name('connection')} = ${x.value(connectionAttribute.encode(connection))}`;
    // lost to an UNSUBSCRIBE, a newer session or a newer connection: nothing to do
    await conditionally(
      () =>
        this.db.updateItem({
          TableName: this.tableName,
          Key: recordKey(record),
          UpdateExpression: update,
          ConditionExpression: this.epochCondition(x, record.sessionEpoch) + owner,
          ...x.attributes(),
        }),
      nothing,
    );
  }

  /** Deletes one record unless it was replaced by a record of another epoch meanwhile. */
  private async deleteOfEpoch(record: SubscriptionRecord): Promise<void> {
    const x = new ExpressionBuilder();
    await conditionally(
      () =>
        this.db.deleteItem({
          TableName: this.tableName,
          Key: recordKey(record),
          ConditionExpression: this.epochCondition(x, record.sessionEpoch),
          ...x.attributes(),
        }),
      nothing,
    );
  }

  private epochCondition(x: ExpressionBuilder, sessionEpoch: string): string {
    return `${x.name('sessionEpoch')} = ${x.value({ S: sessionEpoch })}`;
  }

  /** TTL deletes late: expired items are filtered on every read. */
  private live(items: Item[]): SubscriptionRecord[] {
    const now = this.clock();
    return items.map(fromSubscriptionItem).filter((record) => !isExpired(record.expiresAt, now));
  }
}
