import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { candidateRouteKeys } from '../../../lib/mqtt/topic';
import { MeteredDynamoDb } from '../../../lib/store/dynamodb/metered';
import { DynamoSessionStore } from '../../../lib/store/dynamodb/session-store';
import { DynamoSubscriptionStore } from '../../../lib/store/dynamodb/subscription-store';
import { CountingMeter } from '../../../lib/store/meter';
import type { SubscriptionRecord } from '../../../lib/store/subscription-port';
import { useDynamoTables } from '../../helpers/dynamodb';
import { subscriptionRecord } from '../../helpers/subscription-record';
import { subscriptionKeyLimitContract } from '../../unit/store/subscription-store-keys.contract';
import { subscriptionSessionContract } from '../../unit/store/subscription-store-sessions.contract';
import { subscriptionStoreContract } from '../../unit/store/subscription-store.contract';

const db = await useDynamoTables({ tables: ['subscriptions', 'sessions'] });
const table = db.names.subscriptions;

subscriptionStoreContract('dynamodb', (clock) => new DynamoSubscriptionStore(db.metered, table, { clock }));
subscriptionKeyLimitContract('dynamodb', (clock) => new DynamoSubscriptionStore(db.metered, table, { clock }));
subscriptionSessionContract('dynamodb', (clock) => ({
  sessions: new DynamoSessionStore(db.metered, db.names.sessions, { clock }),
  subscriptions: new DynamoSubscriptionStore(db.metered, table, { clock, sessionsTable: db.names.sessions }),
}));

const subscription = (clientId: string, filter: string): SubscriptionRecord => subscriptionRecord(clientId, filter);

/**
 * The real client, watched: counts the requests in flight at once (several in flight at once is
 * one round trip) and can force small Query pages, to exercise LastEvaluatedKey without 1 MB.
 */
function watchedClient(client: DynamoDBClient, options: { queryLimit?: number } = {}) {
  const stats = { inFlight: 0, peak: 0 };
  const watched = {
    send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
      if (options.queryLimit !== undefined && command instanceof QueryCommand) command.input.Limit = options.queryLimit;
      stats.inFlight++;
      stats.peak = Math.max(stats.peak, stats.inFlight);
      try {
        return await client.send(command);
      } finally {
        stats.inFlight--;
      }
    },
  } as unknown as DynamoDBClient;
  return { client: watched, stats };
}

describe('DynamoSubscriptionStore requests and units', () => {
  const store = new DynamoSubscriptionStore(db.metered, table);
  const ops = () => db.meter.take().entries.map((e) => [e.operation, e.readUnits, e.writeUnits]);

  beforeEach(() => db.meter.reset());

  it('routesFor: one eventually consistent Query per candidate key, all in one round trip', async () => {
    const c = `client-${randomUUID()}`;
    await store.put([subscription(c, 'plant/+'), subscription(c, '+/7'), subscription(c, '#'), subscription(c, 'plant/7/#')]);
    const meter = new CountingMeter();
    const { client, stats } = watchedClient(db.client);
    const watchedStore = new DynamoSubscriptionStore(new MeteredDynamoDb(client, { meter }), table);
    const routes = (await watchedStore.routesFor('plant/7')).filter((r) => r.clientId === c);
    expect(routes).toHaveLength(4);
    const entries = meter.take().entries;
    expect(candidateRouteKeys('plant/7')).toHaveLength(3);
    expect(entries.map((e) => [e.operation, e.table, e.readUnits, e.writeUnits])).toEqual([
      ['Query', table, 0.5, 0],
      ['Query', table, 0.5, 0],
      ['Query', table, 0.5, 0],
    ]);
    expect(stats.peak).toBe(3);
  });

  it('routesFor a $ topic: no Query of the keys of filters that start with a wildcard [MQTT-4.7.2-1]', async () => {
    await store.routesFor('$SYS/broker/load');
    expect(ops()).toEqual([
      ['Query', 0.5, 0],
      ['Query', 0.5, 0],
    ]);
  });

  it('routesFor reads only the subscriptions that share the topic\'s first two levels (issue 15: 200 devices under plant/)', async () => {
    const c = `fleet-${randomUUID()}`;
    const fleet = Array.from({ length: 100 }, (_, i) => [subscription(c, `plant/${i}/cmd`), subscription(c, `plant/${i}/+/status`)]).flat();
    await store.put(fleet);
    db.meter.reset();
    const routes = (await store.routesFor('plant/42/cmd')).filter((r) => r.clientId === c);
    expect(routes.map((r) => r.filter).sort()).toEqual(['plant/42/+/status', 'plant/42/cmd']);
    expect(ops()).toEqual([
      ['Query', 0.5, 0],
      ['Query', 0.5, 0],
      ['Query', 0.5, 0],
    ]);
  });

  it('routesFor follows LastEvaluatedKey across pages', async () => {
    const c = `client-${randomUUID()}`;
    const filters = ['paged/3/1', 'paged/3/2', 'paged/3/3', 'paged/3/4', 'paged/3/5']; // one route key: 'paged/3'
    await store.put(filters.map((f) => subscription(c, f)));
    const meter = new CountingMeter();
    const { client } = watchedClient(db.client, { queryLimit: 2 });
    const pagedStore = new DynamoSubscriptionStore(new MeteredDynamoDb(client, { meter }), table);
    const routes = (await pagedStore.routesFor('paged/3/3')).filter((r) => r.clientId === c);
    expect(routes.map((r) => r.filter).sort()).toEqual(filters);
    expect(meter.take().byOperation.Query.requests).toBeGreaterThan(3);
  });

  // Every write costs 2 WRU: the table and the byClient index (projection ALL).
  it('put: one PutItem per record; delete: one DeleteItem per filter; listByClient: one Query', async () => {
    const c = `client-${randomUUID()}`;
    await store.put([subscription(c, 'a'), subscription(c, 'b')]);
    expect(ops()).toEqual([
      ['PutItem', 0, 2],
      ['PutItem', 0, 2],
    ]);
    await store.listByClient(c);
    expect(ops()).toEqual([['Query', 0.5, 0]]);
    await store.delete(c, ['a', 'b']);
    expect(ops()).toEqual([
      ['DeleteItem', 0, 2],
      ['DeleteItem', 0, 2],
    ]);
  });

  // AWS bills a transaction 2 WRU per item, the session check included, plus the index writes.
  it('put and delete for a session (SUBSCRIBE, UNSUBSCRIBE): one TransactWriteItems with the session check', async () => {
    const c = `client-${randomUUID()}`;
    const sessions = new DynamoSessionStore(db.metered, db.names.sessions);
    const fenced = new DynamoSubscriptionStore(db.metered, table, { sessionsTable: db.names.sessions });
    const { sessionEpoch } = await sessions.claim({
      clientId: c, connectionId: 'conn-1', cleanStart: true, protocolVersion: 5, sessionExpiryInterval: 60, requestTimeEpoch: Date.now(),
    });
    const writer = { sessionEpoch, connectionId: 'conn-1' };
    const requests = () => {
      const entries = db.meter.take().entries;
      return {
        calls: new Set(entries.map((e) => e.operation)),
        sessionUnits: entries.filter((e) => e.table === db.names.sessions).map((e) => e.writeUnits),
        subscriptionUnits: entries.filter((e) => e.table === table).reduce((sum, e) => sum + e.writeUnits, 0),
      };
    };
    db.meter.reset();
    await fenced.put([{ ...subscription(c, 'a'), sessionEpoch }, { ...subscription(c, 'b'), sessionEpoch }], writer);
    const put = requests();
    expect(put.calls).toEqual(new Set(['TransactWriteItems']));
    expect(put.sessionUnits).toEqual([2]); // the check: one transactional item
    expect(put.subscriptionUnits).toBeGreaterThanOrEqual(4); // 2 per transactional item (index writes: 1 more each on AWS)
    await fenced.delete(c, ['a', 'b'], writer);
    const del = requests();
    expect(del.calls).toEqual(new Set(['TransactWriteItems']));
    expect(del.sessionUnits).toEqual([2]);
  });

  it('attach: the index Query, then one write per record; deleteAll: the Query, then one DeleteItem per record', async () => {
    const c = `client-${randomUUID()}`;
    await store.put([subscription(c, 'a'), { ...subscription(c, 'b'), sessionEpoch: 'epoch-0' }]);
    db.meter.reset();
    await store.attach(c, 'epoch-1', { connectionId: 'conn-1', protocolVersion: 5, mode: 'text' }, Math.floor(Date.now() / 1000) + 60);
    expect(ops().sort()).toEqual([
      ['DeleteItem', 0, 2],
      ['Query', 0.5, 0],
      ['UpdateItem', 0, 2],
    ]);
    await store.deleteAll(c, { through: 'epoch-1' });
    expect(ops()).toEqual([
      ['Query', 0.5, 0],
      ['DeleteItem', 0, 2],
    ]);
  });
});
