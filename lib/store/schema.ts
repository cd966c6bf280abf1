/**
 * DynamoDB table schemas, defined once. Local mode creates tables from these; the CDK stack
 * (lib/infra) builds its tables from the same objects. This module imports nothing, so that
 * lib/infra may depend on it without pulling in runtime code.
 *
 * Every table is on-demand and keyed by strings. Every item carries `expiresAt` (epoch seconds)
 * as the TTL attribute; because TTL deletes late, every read filters on it too.
 */

export type AttributeType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexSchema {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** 'ALL', 'KEYS_ONLY', or the non-key attributes to project */
  readonly projection: 'ALL' | 'KEYS_ONLY' | readonly string[];
}

export interface TableSchema {
  /** Stable id; also the suffix of the physical table name in local mode */
  readonly id: TableId;
  readonly description: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** TTL attribute, epoch seconds */
  readonly ttlAttribute: string;
  readonly globalSecondaryIndexes?: readonly IndexSchema[];
}

export type TableId = 'connections' | 'sessions' | 'subscriptions' | 'retained' | 'messages' | 'auth';

export const TTL_ATTRIBUTE = 'expiresAt';

/** The subscriptions table's index of a client's own subscriptions. */
export const BY_CLIENT_INDEX = 'byClient';

/** The sessions index of deferred wills, by shard and due time. */
export const SWEEP_INDEX = 'sweep';

export const TABLE_SCHEMAS: Readonly<Record<TableId, TableSchema>> = {
  connections: {
    id: 'connections',
    description: 'One item per live WebSocket connection: transport mode, MQTT state after CONNECT, deadlines.',
    partitionKey: { name: 'connectionId', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  sessions: {
    id: 'sessions',
    description: 'One item per MQTT client id: the owning connection, expiry and will.',
    partitionKey: { name: 'clientId', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
    globalSecondaryIndexes: [
      {
        // Sparse: only offline sessions with a deferred will carry `sweepShard` and `willDueAt`,
        // so the sweeper queries due wills per shard ('will#0'..'will#3') without a scan.
        indexName: SWEEP_INDEX,
        partitionKey: { name: 'sweepShard', type: 'S' },
        sortKey: { name: 'willDueAt', type: 'N' },
        projection: 'KEYS_ONLY',
      },
    ],
  },
  subscriptions: {
    id: 'subscriptions',
    description:
      'One item per (client, filter). Partitioned by the filter\'s first level (or + / #), so a publish ' +
      'finds every candidate with one Query per candidate key (three in all), never a scan.',
    partitionKey: { name: 'routeKey', type: 'S' },
    sortKey: { name: 'subKey', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
    globalSecondaryIndexes: [
      {
        // A client's own subscriptions: SUBSCRIBE/UNSUBSCRIBE bookkeeping, reconnects, session end.
        indexName: BY_CLIENT_INDEX,
        partitionKey: { name: 'clientId', type: 'S' },
        sortKey: { name: 'filter', type: 'S' },
        projection: 'ALL',
      },
    ],
  },
  retained: {
    id: 'retained',
    description:
      'One item per retained topic, partitioned by the topic\'s first level, sorted by topic: a filter ' +
      'with a literal prefix reads only the topics under that prefix.',
    partitionKey: { name: 'routeKey', type: 'S' },
    sortKey: { name: 'topic', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  messages: {
    id: 'messages',
    description:
      'Per-client message state: the packet id counter, outbound QoS 1/2 in flight, the offline queue ' +
      'and inbound QoS 2 receipts, all under the client id.',
    partitionKey: { name: 'clientId', type: 'S' },
    sortKey: { name: 'itemKey', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  auth: {
    id: 'auth',
    description:
      'Users, groups and topic ACL rules, each principal under one partition: `user#{name}` or ' +
      '`group#{name}` holds a `profile` item and its `rule#{id}` items, so one Query loads a principal.',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
};

export const TABLE_IDS = Object.keys(TABLE_SCHEMAS) as TableId[];

/** Physical table names for a prefix, as local mode and the tests name them. */
export function tableNamesForPrefix(prefix: string): Record<TableId, string> {
  const names = {} as Record<TableId, string>;
  for (const id of TABLE_IDS) names[id] = `${prefix}${id}`;
  return names;
}

/** The Lambda environment variable that carries a table's physical name, e.g. STRATUS_TABLE_CONNECTIONS. */
export function tableEnvVar(id: TableId): string {
  return `STRATUS_TABLE_${id.toUpperCase()}`;
}
