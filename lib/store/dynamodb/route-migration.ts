/**
 * Moves subscriptions stored under an older route key scheme to the current one
 * (`stratus subscriptions migrate-routes`, CHANGELOG "Breaking" of 0.2.0). Before 0.2 a
 * subscription was stored under its filter's first level ('+' / '#' for a leading wildcard); now
 * under lib/mqtt/topic.ts `routeKey`. A publish reads only the current keys, so a subscription
 * left under an old key receives nothing until it is moved, or until its client subscribes again.
 *
 * One Scan of the `subscriptions` table (0.5 RRU per 4 KB), then per item whose stored key is not
 * the current one: a PutItem under the current key, only if none is there (a record the new
 * broker wrote meanwhile is newer and stays), then a DeleteItem of the old item. Each step is safe
 * to run again, and so is the whole migration: a rerun moves what an interrupted run left.
 * 2 + 2 WRU per moved item (table and byClient index each).
 */
import { routeKey } from '../../mqtt/topic';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
import { storedRouteKey } from './route-key';
import { ROUTE_KEY, SUB_KEY } from './subscription-codec';

export interface RouteMigration {
  /** Subscription items read. */
  readonly checked: number;
  /** Items moved to their current route key (or dropped because a newer one was there). */
  readonly moved: number;
}

/** Moves at most this many items at once. */
const PARALLEL = 16;

export async function migrateRouteKeys(db: MeteredDynamoDb, tableName: string): Promise<RouteMigration> {
  const items = await db.scanAll({ TableName: tableName });
  const stale = items.filter((item) => {
    const key = currentKeyOf(item);
    return key !== undefined && key !== item[ROUTE_KEY]?.S;
  });
  for (let i = 0; i < stale.length; i += PARALLEL) {
    await Promise.all(stale.slice(i, i + PARALLEL).map((item) => move(db, tableName, item)));
  }
  return { checked: items.length, moved: stale.length };
}

/** The route key the item belongs under now; undefined for an item that is not a subscription. */
function currentKeyOf(item: Item): string | undefined {
  const topicFilter = item.topicFilter?.S;
  return topicFilter === undefined ? undefined : storedRouteKey(routeKey(topicFilter));
}

async function move(db: MeteredDynamoDb, tableName: string, item: Item): Promise<void> {
  const key = currentKeyOf(item) as string;
  const put = new ExpressionBuilder();
  await conditionally(
    () =>
      db.putItem({
        TableName: tableName,
        Item: { ...item, [ROUTE_KEY]: { S: key } },
        ConditionExpression: `attribute_not_exists(${put.name(ROUTE_KEY)})`,
        ...put.attributes(),
      }),
    nothing, // moved by an earlier run, or written under the current key by the new broker: that one stays
  );
  const del = new ExpressionBuilder();
  await conditionally(
    () =>
      db.deleteItem({
        TableName: tableName,
        Key: { [ROUTE_KEY]: item[ROUTE_KEY], [SUB_KEY]: item[SUB_KEY] },
        ConditionExpression: `attribute_exists(${del.name(ROUTE_KEY)})`,
        ...del.attributes(),
      }),
    nothing, // deleted meanwhile
  );
}
