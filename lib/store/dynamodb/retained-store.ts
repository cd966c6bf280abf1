/**
 * RetainedStore on the `retained` table (PK routeKey = the topic's first level, SK topic).
 *
 * Last writer wins by gateway arrival time: put and delete are one conditional PutItem each,
 * `attribute_not_exists(topic) OR requestTimeEpoch < :t`, and a failed condition is 'stale'. A
 * delete writes a tombstone (24 h TTL) so that an older publish arriving late stays stale. Each
 * write carries a request token (./request-token): when the SDK resends a write whose first
 * attempt was applied, the failed condition finds its own token and the write is 'written'.
 *
 * matching(filter) reads by the filter's literal prefix, the levels before its first wildcard:
 * - no wildcard ('a/b'): one Query of that topic;
 * - a wildcard in the second level ('a/+', 'a/#', '$SYS/#'): one Query of the partition 'a';
 * - a longer prefix ('a/b/+/c'): one Query `begins_with(topic, 'a/b/')` (not 'a/b', which would
 *   also read 'a/bc'), plus, for 'a/b/#' only, a Query of the topic 'a/b' itself, which '#'
 *   matches (MQTT 5.0 section 4.7.1.2); both in parallel, one round trip;
 * - a wildcard first level ('+/x', '#'): a paged Scan of the whole table. This is the only scan on
 *   any subscribe path: such a filter has no literal prefix, so every retained topic is a
 *   candidate. Topics starting with '$' are never matched by it [MQTT-4.7.2-1].
 * Every read is eventually consistent (0.5 RRU per 4 KB); every record is re-checked with
 * `matches`, and tombstones, expired messages and TTL-expired items are dropped. A write of an
 * item under 1 KB is 1 WRU (a failed condition is billed too).
 */
import type { QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { matches, topicLevels } from '../../mqtt/topic';
import { epochSeconds, isExpired, systemClock, type Clock } from '../clock';
import type { RetainedRecord, RetainedStore, RetainedWriteResult } from '../retained-port';
import { TABLE_SCHEMAS } from '../schema';
import type { DynamoStoreOptions } from './connection-store';
import { conditionally } from './conditionally';
import { isOwnWrite, newRequestToken, REQUEST_TOKEN } from './request-token';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
import { fromRetainedItem, retainedItem, retainedRouteKey, tombstoneItem } from './retained-codec';
import { boundedKey, queryPrefix } from './route-key';

const PK = TABLE_SCHEMAS.retained.partitionKey.name;
const SK = TABLE_SCHEMAS.retained.sortKey?.name ?? 'topic';

/** How long a tombstone keeps an older publish from bringing a deleted message back. */
const TOMBSTONE_TTL_SECONDS = 24 * 3600;

export class DynamoRetainedStore implements RetainedStore {
  private readonly clock: Clock;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async put(record: RetainedRecord): Promise<RetainedWriteResult> {
    return this.newerWrite(retainedItem(record), record.requestTimeEpoch);
  }

  async delete(topic: string, requestTimeEpoch: number): Promise<RetainedWriteResult> {
    const expiresAt = epochSeconds(this.clock()) + TOMBSTONE_TTL_SECONDS;
    return this.newerWrite(tombstoneItem(topic, requestTimeEpoch, expiresAt), requestTimeEpoch);
  }

  async matching(topicFilter: string, now?: number): Promise<RetainedRecord[]> {
    const levels = topicLevels(topicFilter);
    const wildcard = levels.findIndex((level) => level === '+' || level === '#');
    let items: Item[];
    if (wildcard === 0) {
      items = await this.scanAll();
    } else if (wildcard === -1) {
      items = await this.queryTopic(topicFilter);
    } else if (wildcard === 1) {
      items = await this.db.queryAll(this.partition(topicFilter));
    } else {
      const prefix = levels.slice(0, wildcard).join('/');
      const exact = topicFilter === `${prefix}/#`;
      const pages = await Promise.all([
        this.db.queryAll(this.partition(topicFilter, `${prefix}/`)),
        ...(exact ? [this.queryTopic(prefix)] : []),
      ]);
      items = pages.flat();
    }
    const at = now ?? this.clock();
    return this.live(items, at)
      .filter((record) => matches(topicFilter, record.topic))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  async get(topic: string, now?: number): Promise<RetainedRecord | undefined> {
    const { Item } = await this.db.getItem({ TableName: this.tableName, Key: this.key(topic), ConsistentRead: true });
    return Item === undefined ? undefined : this.live([Item], now ?? this.clock())[0];
  }

  /** A PutItem that succeeds only over a missing item or an older write; else 'stale'. */
  private async newerWrite(item: Item, requestTimeEpoch: number): Promise<RetainedWriteResult> {
    const x = new ExpressionBuilder();
    const condition =
      `attribute_not_exists(${x.name(SK)}) OR ` +
      `${x.name('requestTimeEpoch')} < ${x.value({ N: String(requestTimeEpoch) })}`;
    const token = newRequestToken();
    return conditionally(
      async () => {
        await this.db.putItem({
          TableName: this.tableName,
          Item: { ...item, [REQUEST_TOKEN]: { S: token } },
          ConditionExpression: condition,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.attributes(),
        });
        return 'written' as const;
      },
      (failure) => (isOwnWrite(failure, token) ? ('written' as const) : ('stale' as const)),
    );
  }

  /** The Query of a filter's partition, optionally only the topics that begin with `prefix`. */
  private partition(topicFilter: string, prefix?: string): QueryCommandInput {
    const x = new ExpressionBuilder();
    const pk = `${x.name(PK)} = ${x.value({ S: retainedRouteKey(topicFilter) })}`;
    // a long prefix is cut so that it also finds the topics stored hashed (./route-key)
    const sk = prefix === undefined ? '' : ` AND begins_with(${x.name(SK)}, ${x.value({ S: queryPrefix(prefix) })})`;
    return { TableName: this.tableName, KeyConditionExpression: pk + sk, ...x.attributes() };
  }

  /** One topic, as a Query (eventually consistent, half the units of the strongly consistent get). */
  private async queryTopic(topic: string): Promise<Item[]> {
    const x = new ExpressionBuilder();
    const { Items } = await this.db.query({
      TableName: this.tableName,
      KeyConditionExpression:
        `${x.name(PK)} = ${x.value({ S: retainedRouteKey(topic) })} AND ${x.name(SK)} = ${x.value({ S: boundedKey(topic) })}`,
      ...x.attributes(),
    });
    return Items ?? [];
  }

  /**
   * Every item of the table, page by page (eventually consistent). Only for a filter with a
   * wildcard first level: see the module comment. MeteredDynamoDb has no Scan, so this reports
   * to its meter itself, at least the 0.5 RRU AWS bills for any read request.
   */
  private scanAll(): Promise<Item[]> {
    return this.db.scanAll({ TableName: this.tableName });
  }

  private key(topic: string): Item {
    return { [PK]: { S: retainedRouteKey(topic) }, [SK]: { S: boundedKey(topic) } };
  }

  /** Messages only: no tombstones, no expired messages, nothing past its TTL (TTL deletes late). */
  private live(items: Item[], now: number): RetainedRecord[] {
    const records: RetainedRecord[] = [];
    for (const item of items) {
      const decoded = fromRetainedItem(item);
      if (decoded === undefined) continue;
      if (decoded.expiresAt !== undefined && isExpired(decoded.expiresAt, now)) continue;
      const { record } = decoded;
      if (record.messageExpiresAt !== null && record.messageExpiresAt <= now) continue;
      records.push(record);
    }
    return records;
  }
}
