/**
 * `migrateRouteKeys` (lib/store/dynamodb/route-migration.ts) on DynamoDB Local: subscriptions
 * stored under the route keys of 0.1 (the filter's first level, '+' or '#') are moved to the
 * current keys, where a publish finds them; a rerun moves nothing; a record the new broker
 * already wrote under the current key is kept.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { matches } from '../../../lib/mqtt/topic';
import { migrateRouteKeys } from '../../../lib/store/dynamodb/route-migration';
import { ROUTE_KEY, toSubscriptionItem } from '../../../lib/store/dynamodb/subscription-codec';
import { DynamoSubscriptionStore } from '../../../lib/store/dynamodb/subscription-store';
import type { SubscriptionRecord } from '../../../lib/store/subscription-port';
import { useDynamoTables } from '../../helpers/dynamodb';
import { subscriptionRecord } from '../../helpers/subscription-record';

const db = await useDynamoTables({ tables: ['subscriptions'] });
const table = db.names.subscriptions;
const store = new DynamoSubscriptionStore(db.metered, table);

const subscription = (clientId: string, filter: string, qos: 0 | 1 | 2 = 1): SubscriptionRecord => subscriptionRecord(clientId, filter, { qos });

/** The 0.1 route key: the first level, or '+' / '#' for a filter that starts with one. */
function legacyKey(filter: string): string {
  const first = filter.split('/')[0] as string;
  return first === '' ? '/' : first;
}

/** Writes a record as 0.1 stored it. */
async function putLegacy(record: SubscriptionRecord): Promise<void> {
  await db.metered.putItem({ TableName: table, Item: { ...toSubscriptionItem(record), [ROUTE_KEY]: { S: legacyKey(record.topicFilter) } } });
}

async function routed(topic: string, clientId: string): Promise<string[]> {
  return (await store.routesFor(topic))
    .filter((r) => r.clientId === clientId && matches(r.topicFilter, topic))
    .map((r) => r.filter)
    .sort();
}

describe('migrateRouteKeys', () => {
  it('moves 0.1 subscriptions to the current route keys, where publishes find them; a rerun moves nothing', async () => {
    const c = `legacy-${randomUUID()}`;
    const filters = ['plant/42/cmd', 'plant/+/status', 'plant/#', '#', '+/42/cmd', 'plant', '/a/b', '$SYS/#', '$share/g/plant/42/cmd'];
    for (const f of filters) await putLegacy(subscription(c, f));
    // Before the move a publish finds only the filter whose key did not change ('+').
    expect(await routed('plant/42/cmd', c)).toEqual(['+/42/cmd']);
    const first = await migrateRouteKeys(db.metered, table);
    expect(first.moved).toBeGreaterThanOrEqual(7);
    expect(await routed('plant/42/cmd', c)).toEqual(['#', '$share/g/plant/42/cmd', '+/42/cmd', 'plant/#', 'plant/42/cmd']);
    expect(await routed('plant/7/status', c)).toEqual(['#', 'plant/#', 'plant/+/status']);
    expect(await routed('/a/b', c)).toEqual(['#', '/a/b']);
    expect(await routed('$SYS/x', c)).toEqual(['$SYS/#']);
    expect((await store.listByClient(c)).map((r) => r.filter).sort()).toEqual([...filters].sort()); // one item each
    expect((await migrateRouteKeys(db.metered, table)).moved).toBe(0);
  });

  it('keeps the record the new broker wrote under the current key, and removes the 0.1 one', async () => {
    const c = `both-${randomUUID()}`;
    await putLegacy(subscription(c, 'line/3/temp', 0));
    await store.put([subscription(c, 'line/3/temp', 2)]);
    await migrateRouteKeys(db.metered, table);
    const records = await store.listByClient(c);
    expect(records.map((r) => [r.filter, r.qos])).toEqual([['line/3/temp', 2]]);
  });
});
