/**
 * SubscriptionStore on the `subscriptions` table (PK routeKey, SK subKey; index byClient: PK
 * clientId, SK filter, projection ALL).
 *
 * Requests per operation (n = the client's live subscriptions, k = filters in the call):
 * - routesFor(topic): one eventually consistent Query per candidate route key (at most 3, in
 *   parallel: one round trip), 0.5 RRU per 4 KB read, more pages only past 1 MB per key;
 * - listByClient: one Query of the byClient index (eventually consistent, as every GSI read);
 * - put: one PutItem per record, in parallel; delete: one DeleteItem per filter, in parallel;
 * - attach: listByClient, then one conditional UpdateItem per record of the epoch and one
 *   conditional DeleteItem per record of another epoch, in parallel;
 * - deleteAll: listByClient, then one conditional DeleteItem per record, in parallel.
 * Every write of a small item (under 1 KB) is 2 WRU: 1 for the table and 1 for the byClient index,
 * which projects ALL and so is written on every put, update and delete (a failed condition is
 * still billed, 1 WRU, and writes no index).
 *
 * The writes after a listByClient are conditional on the item still belonging to the epoch that
 * was listed: an UNSUBSCRIBE running meanwhile is not undone (an UpdateItem on a missing key would
 * create a partial item), and a record a newer session has just written is not deleted.
 */
import { candidateFilterKeys } from '../../mqtt/topic';
import { isExpired, systemClock, type Clock } from '../clock';
import { BY_CLIENT_INDEX, TTL_ATTRIBUTE } from '../schema';
import type { AttachOptions, SubscriberConnection, SubscriptionRecord, SubscriptionStore } from '../subscription-port';
import type { DynamoStoreOptions } from './connection-store';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
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

export class DynamoSubscriptionStore implements SubscriptionStore {
  private readonly clock: Clock;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async routesFor(topic: string): Promise<SubscriptionRecord[]> {
    const pages = await Promise.all(
      candidateFilterKeys(topic, 1).map((key) => {
        const x = new ExpressionBuilder();
        return this.db.queryAll({
          TableName: this.tableName,
          KeyConditionExpression: `${x.name(ROUTE_KEY)} = ${x.value({ S: storedRouteKey(key) })}`,
          ...x.attributes(),
        });
      }),
    );
    return this.live(pages.flat());
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

  async put(records: readonly SubscriptionRecord[]): Promise<void> {
    await Promise.all(
      records.map((record) => this.db.putItem({ TableName: this.tableName, Item: toSubscriptionItem(record) })),
    );
  }

  async delete(clientId: string, filters: readonly string[]): Promise<void> {
    await Promise.all(
      filters.map(async (filter) => {
        const routeKey = routeKeyOfFilter(filter);
        if (routeKey === undefined) return; // not a valid shared subscription: never stored
        await this.db.deleteItem({ TableName: this.tableName, Key: subscriptionKey(routeKey, clientId, filter) });
      }),
    );
  }

  async attach(
    clientId: string,
    sessionEpoch: string,
    connection: SubscriberConnection | null,
    expiresAt: number,
    options: AttachOptions = {},
  ): Promise<void> {
    const records = await this.listByClient(clientId);
    await Promise.all(
      records.map((record) =>
        record.sessionEpoch === sessionEpoch && options.drop?.(record.filter) !== true
          ? this.setConnection(record, connection, expiresAt, options)
          : this.deleteOfEpoch(record),
      ),
    );
  }

  async deleteAll(clientId: string): Promise<void> {
    const records = await this.listByClient(clientId);
    await Promise.all(records.map((record) => this.deleteOfEpoch(record)));
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
