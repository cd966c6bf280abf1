/**
 * The SubscriptionStore contract: every adapter passes these tests. Run by
 * test/unit/store/memory-subscription-store.test.ts and
 * test/integration/store/dynamodb-subscription-store.test.ts.
 *
 * The DynamoDB adapter's tables are shared by the tests of a file, so every test uses its own
 * client ids and looks only at their records.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  candidateRouteKeys,
  isValidTopicFilter,
  isValidTopicName,
  matches,
  routeKey,
} from '../../../lib/mqtt/topic';
import type { Clock } from '../../../lib/store/clock';
import type { SubscriberConnection, SubscriptionRecord, SubscriptionStore } from '../../../lib/store/subscription-port';
import { subscriptionRecord } from '../../helpers/subscription-record';
import { ManualClock } from './connection-store.contract';

export type SubscriptionStoreFactory = (clock: Clock) => SubscriptionStore | Promise<SubscriptionStore>;

const HOUR = 3600;

const byFilter = (a: SubscriptionRecord, b: SubscriptionRecord) => (a.filter < b.filter ? -1 : a.filter > b.filter ? 1 : 0);

// Topics and filters over a small alphabet, so that matches and near misses are frequent.
const topicArb = fc
  .tuple(fc.constantFrom('a', 'b', 'ab', '$SYS', ''), fc.array(fc.constantFrom('a', 'b', ''), { maxLength: 3 }))
  .map(([first, rest]) => [first, ...rest].join('/'))
  .filter(isValidTopicName);
const filterArb = fc
  .tuple(
    fc.constantFrom('a', 'b', 'ab', '$SYS', '', '+', '#'),
    fc.array(fc.constantFrom('a', 'b', '', '+'), { maxLength: 3 }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([first, rest, hash, shared]) => (shared ? '$share/g/' : '') + [first, ...rest, ...(hash ? ['#'] : [])].join('/'))
  .filter((f) => isValidTopicFilter(f.replace(/^\$share\/g\//, '')));

export function subscriptionStoreContract(adapter: string, makeStore: SubscriptionStoreFactory): void {
  describe(`SubscriptionStore contract: ${adapter}`, () => {
    let time: ManualClock;
    let store: SubscriptionStore;

    beforeEach(async () => {
      time = new ManualClock();
      store = await makeStore(time.clock);
    });

    const nowSeconds = () => Math.floor(time.nowMs / 1000);
    const clientId = () => `client-${randomUUID()}`;
    const subscription = (client: string, filter: string, overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord =>
      subscriptionRecord(client, filter, { expiresAt: nowSeconds() + HOUR, ...overrides });
    const connection = (overrides: Partial<SubscriberConnection> = {}): SubscriberConnection => ({
      connectionId: `conn-${randomUUID()}`,
      protocolVersion: 5,
      mode: 'text',
      ...overrides,
    });
    const routesOf = async (topic: string, client: string) =>
      (await store.routesFor(topic)).filter((r) => r.clientId === client).sort(byFilter);

    describe('put and listByClient', () => {
      it('round-trips every field, the connection included', async () => {
        const c = clientId();
        const full = subscription(c, '$share/g/plant/+/temp', {
          qos: 2,
          noLocal: true,
          retainAsPublished: true,
          retainHandling: 2,
          subscriptionIdentifier: 268_435_455,
          persistent: false,
          connection: connection({ receiveMaximum: 10, maximumPacketSize: 1024, mode: 'binary', protocolVersion: 5 }),
        });
        const plain = subscription(c, 'plant/#', { qos: 0, connection: connection({ protocolVersion: 4 }) });
        await store.put([full, plain]);
        expect(await store.listByClient(c)).toEqual([full, plain].sort(byFilter));
      });

      it('leaves absent optional fields absent', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a/b', { subscriptionIdentifier: undefined, connection: undefined })]);
        const [read] = await store.listByClient(c);
        expect(Object.keys(read).sort()).toEqual(
          ['clientId', 'filter', 'topicFilter', 'qos', 'noLocal', 'retainAsPublished', 'retainHandling', 'sessionEpoch', 'persistent', 'expiresAt'].sort(),
        );
      });

      it('lists nothing for an unknown client', async () => {
        expect(await store.listByClient(clientId())).toEqual([]);
      });

      it('[MQTT-3.8.4-3] replaces the subscription with the same filter', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a/+', { qos: 0 })]);
        const replacement = subscription(c, 'a/+', { qos: 2, noLocal: true });
        await store.put([replacement]);
        expect(await store.listByClient(c)).toEqual([replacement]);
        expect(await routesOf('a/x', c)).toEqual([replacement]);
      });

      it('keeps a shared and a non-shared subscription to one topic filter apart (MQTT 5.0 section 4.8.2)', async () => {
        const c = clientId();
        const plain = subscription(c, 'a/b');
        const shared = subscription(c, '$share/g/a/b', { qos: 2 });
        const otherGroup = subscription(c, '$share/h/a/b', { qos: 0 });
        await store.put([plain, shared, otherGroup]);
        expect(await routesOf('a/b', c)).toEqual([plain, shared, otherGroup].sort(byFilter));
        await store.delete(c, ['$share/g/a/b']);
        expect(await routesOf('a/b', c)).toEqual([plain, otherGroup].sort(byFilter));
      });

      it('returns copies: changing them does not change the store', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a')]);
        const [read] = await store.listByClient(c);
        read.qos = 0;
        const [routed] = await routesOf('a', c);
        routed.qos = 2;
        expect((await store.listByClient(c))[0].qos).toBe(1);
      });
    });

    describe('routesFor', () => {
      it('finds exactly the records whose route key is a candidate of the topic', async () => {
        const c = clientId();
        const filters = ['a', 'a/b', 'a/+', 'a/#', '+', '+/b', '#', 'b/#', 'ab', '$SYS/#', '+/+/c', '$share/g/+/b', '$share/g/a'];
        await store.put(filters.map((f) => subscription(c, f)));
        const routed = async (topic: string) => (await routesOf(topic, c)).map((r) => r.filter).sort();
        // Route keys (lib/mqtt/topic.ts routeKey): the first two levels, or the literal levels before
        // the first wildcard then '+'. 'a' and '$share/g/a' (key 'a') are not read for 'a/b'.
        expect(await routed('a/b')).toEqual(['#', '$share/g/+/b', '+', '+/+/c', '+/b', 'a/#', 'a/+', 'a/b'].sort());
        expect(await routed('a')).toEqual(['#', '$share/g/+/b', '$share/g/a', '+', '+/+/c', '+/b', 'a', 'a/#', 'a/+'].sort());
        // '$' topics: no leading-wildcard route key is a candidate [MQTT-4.7.2-1]
        expect(await routed('$SYS/broker/load')).toEqual(['$SYS/#']);
        expect(await routed('b')).toEqual(['#', '$share/g/+/b', '+', '+/+/c', '+/b', 'b/#'].sort());
        expect(await routed('abc')).toEqual(['#', '$share/g/+/b', '+', '+/+/c', '+/b'].sort());
      });

      it('routes a shared subscription by its topic filter, not by $share', async () => {
        const c = clientId();
        const shared = subscription(c, '$share/g/plant/7');
        await store.put([shared]);
        expect(await routesOf('plant/7', c)).toEqual([shared]);
        expect(await routesOf('$share/g/plant/7', c)).toEqual([]);
      });

      it('routes a filter whose first level is empty', async () => {
        const c = clientId();
        const empty = subscription(c, '/a');
        const emptyHash = subscription(c, '/#');
        await store.put([empty, emptyHash, subscription(c, 'a')]);
        expect(await routesOf('/a', c)).toEqual([emptyHash, empty].sort(byFilter));
        // same route key (the empty level): both are candidates, only '/#' matches
        expect((await routesOf('/', c)).filter((r) => matches(r.topicFilter, '/'))).toEqual([emptyHash]);
        await store.delete(c, ['/a']);
        expect(await routesOf('/a', c)).toEqual([emptyHash]);
      });

      it('never misses a matching subscription and returns only candidates (property)', async () => {
        await fc.assert(
          fc.asyncProperty(fc.uniqueArray(filterArb, { minLength: 1, maxLength: 8 }), topicArb, async (filters, topic) => {
            const c = clientId();
            const records = filters.map((f) => subscription(c, f));
            await store.put(records);
            const routed = await routesOf(topic, c);
            const candidates = candidateRouteKeys(topic);
            const expected = records.filter((r) => candidates.includes(routeKey(r.topicFilter)));
            expect(routed).toEqual(expected.sort(byFilter));
            const routedFilters = new Set(routed.map((r) => r.filter));
            for (const r of records) if (matches(r.topicFilter, topic)) expect(routedFilters.has(r.filter)).toBe(true);
            await store.deleteAll(c, { through: 'epoch-1' });
          }),
          { numRuns: 30 },
        );
      });
    });

    describe('delete', () => {
      it('deletes the filters as sent and is idempotent', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a/b'), subscription(c, '+/b'), subscription(c, '#')]);
        await store.delete(c, ['a/b', '#']);
        expect((await store.listByClient(c)).map((r) => r.filter)).toEqual(['+/b']);
        await store.delete(c, ['a/b', '#', 'never/subscribed', '$share/g/x']);
        expect((await store.listByClient(c)).map((r) => r.filter)).toEqual(['+/b']);
        expect(await routesOf('a/b', c)).toHaveLength(1);
      });

      it('ignores a filter that is not a valid shared subscription', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a')]);
        await expect(store.delete(c, ['$share//a', '$share/g'])).resolves.toBeUndefined();
        expect(await store.listByClient(c)).toHaveLength(1);
      });

      it("touches only this client's subscriptions", async () => {
        const [c1, c2] = [clientId(), clientId()];
        await store.put([subscription(c1, 'a'), subscription(c2, 'a')]);
        await store.delete(c1, ['a']);
        expect(await store.listByClient(c1)).toEqual([]);
        expect(await store.listByClient(c2)).toHaveLength(1);
      });
    });

    describe('attach', () => {
      it('copies the connection into every record of the epoch and moves their TTL', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a'), subscription(c, '$share/g/b/+'), subscription(c, '#')]);
        const conn = connection({ receiveMaximum: 5 });
        const expiresAt = nowSeconds() + 3 * HOUR;
        await store.attach(c, 'epoch-1', conn, expiresAt);
        const records = await store.listByClient(c);
        expect(records).toHaveLength(3);
        for (const r of records) expect(r).toMatchObject({ connection: conn, expiresAt, sessionEpoch: 'epoch-1' });
        expect((await routesOf('b/x', c)).map((r) => r.connection)).toEqual([conn, conn]);
      });

      it('with persistent, sets it on every record (a resume may change the Session Expiry Interval); without, leaves it', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a', { persistent: false }), subscription(c, 'b', { persistent: false })]);
        await store.attach(c, 'epoch-1', connection(), nowSeconds() + HOUR);
        expect((await store.listByClient(c)).map((r) => r.persistent)).toEqual([false, false]);
        await store.attach(c, 'epoch-1', connection(), nowSeconds() + HOUR, { persistent: true });
        expect((await store.listByClient(c)).map((r) => r.persistent)).toEqual([true, true]);
        expect((await routesOf('a', c))[0].persistent).toBe(true);
      });

      it('with drop, deletes the records of the epoch it answers true for and attaches the rest', async () => {
        const c = clientId();
        await store.put([subscription(c, 'plant/a/#'), subscription(c, 'plant/b/#'), subscription(c, '$share/g/plant/b/x')]);
        const conn = connection();
        await store.attach(c, 'epoch-1', conn, nowSeconds() + HOUR, { drop: (filter) => filter.includes('plant/b') });
        const records = await store.listByClient(c);
        expect(records.map((r) => r.filter)).toEqual(['plant/a/#']);
        expect(records[0].connection).toEqual(conn);
        // Route candidates no longer hold the dropped filters; the kept one still routes.
        expect(await routesOf('plant/b/x', c)).toEqual([]);
        expect((await routesOf('plant/a/x', c)).map((r) => r.filter)).toEqual(['plant/a/#']);
      });

      it('detaches (null): the connection is removed, the records stay', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a', { connection: connection() })]);
        const expiresAt = nowSeconds() + 2 * HOUR;
        await store.attach(c, 'epoch-1', null, expiresAt);
        const [record] = await store.listByClient(c);
        expect(record).not.toHaveProperty('connection');
        expect(record.expiresAt).toBe(expiresAt);
      });

      it('with onlyIfConnectionId, leaves alone the records a newer connection already took', async () => {
        const c = clientId();
        const mine = connection({ connectionId: 'closing' });
        const newer = connection({ connectionId: 'resumed' });
        await store.put([subscription(c, 'a', { connection: mine }), subscription(c, 'b', { connection: newer })]);
        await store.attach(c, 'epoch-1', null, nowSeconds() + HOUR, { onlyIfConnectionId: 'closing' });
        const byFilter = new Map((await store.listByClient(c)).map((r) => [r.filter, r]));
        expect(byFilter.get('a')).not.toHaveProperty('connection');
        expect(byFilter.get('b')?.connection).toEqual(newer);
      });

      it('deletes the records of another epoch on the way', async () => {
        const c = clientId();
        const current = subscription(c, 'a', { sessionEpoch: 'epoch-2' });
        await store.put([subscription(c, 'b', { sessionEpoch: 'epoch-1' }), subscription(c, 'c', { sessionEpoch: 'epoch-0' }), current]);
        const conn = connection();
        await store.attach(c, 'epoch-2', conn, current.expiresAt);
        expect(await store.listByClient(c)).toEqual([{ ...current, connection: conn }]);
        expect(await routesOf('b', c)).toEqual([]);
      });

      it('of an older epoch (an old connection\'s late disconnect path) leaves a newer session\'s records alone [MQTT-3.1.2-4]', async () => {
        // A clean session's connection closed; before its disconnect path ran again, the client
        // connected with Clean Start and subscribed under a new epoch (chaos run, session 9).
        const c = clientId();
        const newer = subscription(c, 'a', { sessionEpoch: 'epoch-2', connection: connection({ connectionId: 'new' }) });
        await store.put([newer]);
        await store.attach(c, 'epoch-1', null, nowSeconds() + HOUR, { onlyIfConnectionId: 'old' });
        expect(await store.listByClient(c)).toEqual([newer]);
        expect((await routesOf('a', c)).map((r) => r.connection?.connectionId)).toEqual(['new']);
      });

      it('does nothing for a client without subscriptions', async () => {
        const c = clientId();
        await store.attach(c, 'epoch-1', connection(), nowSeconds() + HOUR);
        expect(await store.listByClient(c)).toEqual([]);
      });
    });

    describe('deleteAll', () => {
      it("deletes every subscription of the client of the ended epoch and older ones, and no other client's", async () => {
        const [c1, c2] = [clientId(), clientId()];
        await store.put([
          subscription(c1, 'a'),
          subscription(c1, '$share/g/a', { sessionEpoch: 'epoch-0' }),
          subscription(c1, '#'),
          subscription(c2, 'a'),
        ]);
        await store.deleteAll(c1, { through: 'epoch-1' });
        expect(await store.listByClient(c1)).toEqual([]);
        expect(await routesOf('a', c1)).toEqual([]);
        expect(await store.listByClient(c2)).toHaveLength(1);
        await expect(store.deleteAll(c1, { through: 'epoch-1' })).resolves.toBeUndefined();
      });

      it('deletes more records than one batch holds', async () => {
        const c = clientId();
        await store.put(Array.from({ length: 30 }, (_, i) => subscription(c, `t/${i}`)));
        expect(await store.listByClient(c)).toHaveLength(30);
        await store.deleteAll(c, { before: 'epoch-2' });
        expect(await store.listByClient(c)).toEqual([]);
      });
    });

    describe('expiry (TTL deletes late, so reads filter)', () => {
      it('hides a record whose expiresAt has passed from every read', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a', { expiresAt: nowSeconds() - 1 }), subscription(c, 'b')]);
        expect((await store.listByClient(c)).map((r) => r.filter)).toEqual(['b']);
        expect(await routesOf('a', c)).toEqual([]);
      });

      it('hides a record once the clock passes its expiresAt', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a/#', { expiresAt: nowSeconds() + 60 })]);
        expect(await routesOf('a', c)).toHaveLength(1);
        time.advanceSeconds(60);
        expect(await routesOf('a', c)).toEqual([]);
        expect(await store.listByClient(c)).toEqual([]);
      });

      it('does not bring an expired record back on attach', async () => {
        const c = clientId();
        await store.put([subscription(c, 'a', { expiresAt: nowSeconds() + 10 })]);
        time.advanceSeconds(11);
        await store.attach(c, 'epoch-1', connection(), nowSeconds() + HOUR);
        expect(await store.listByClient(c)).toEqual([]);
      });
    });
  });
}
