/**
 * SubscriptionStore contract, part 2: topic filters longer than DynamoDB's key limits (issue 13
 * defect 6). A topic filter may be up to 65,535 bytes [MQTT-1.5.4-1]; DynamoDB refuses a sort
 * key over 1,024 bytes and a partition key over 2,048 bytes (and index keys alike). Every adapter
 * stores, lists, routes and deletes such a filter exactly like a short one.
 * Run by test/unit/store/memory-subscription-store.test.ts and
 * test/integration/store/dynamodb-subscription-store.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { matches } from '../../../lib/mqtt/topic';
import type { SubscriptionRecord, SubscriptionStore } from '../../../lib/store/subscription-port';
import { ManualClock } from './connection-store.contract';
import type { SubscriptionStoreFactory } from './subscription-store.contract';

const byFilter = (a: SubscriptionRecord, b: SubscriptionRecord) => (a.filter < b.filter ? -1 : a.filter > b.filter ? 1 : 0);

export function subscriptionKeyLimitContract(adapter: string, makeStore: SubscriptionStoreFactory): void {
  describe(`SubscriptionStore contract, keys over DynamoDB's limits (issue 13 defect 6): ${adapter}`, () => {
    let time: ManualClock;
    let store: SubscriptionStore;

    beforeEach(async () => {
      time = new ManualClock();
      store = await makeStore(time.clock);
    });

    const clientId = () => `client-${randomUUID()}`;
    const subscription = (client: string, filter: string, topicFilter = filter, shareName?: string): SubscriptionRecord => ({
      clientId: client,
      filter,
      topicFilter,
      ...(shareName === undefined ? {} : { shareName }),
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
      sessionEpoch: 'epoch-1',
      persistent: true,
      connection: { connectionId: 'conn-1', protocolVersion: 5, mode: 'text' },
      expiresAt: Math.floor(time.nowMs / 1000) + 3600,
    });
    const routesOf = async (topic: string, client: string) =>
      (await store.routesFor(topic)).filter((r) => r.clientId === client).sort(byFilter);
    const matching = async (topic: string, client: string) => (await routesOf(topic, client)).filter((r) => matches(r.topicFilter, topic));

    it('[MQTT-1.5.4-1] stores, lists, routes and deletes a 1.5 KB filter (over the 1,024-byte sort key limit)', async () => {
      const c = clientId();
      const long = `plant/${'x'.repeat(1500)}/+`;
      const shared = subscription(c, `$share/g/${long}`, long, 'g');
      const plain = subscription(c, long);
      await store.put([plain, shared]);
      expect(await store.listByClient(c)).toEqual([plain, shared].sort(byFilter));
      expect(await matching(`plant/${'x'.repeat(1500)}/7`, c)).toEqual([plain, shared].sort(byFilter));
      await store.delete(c, [long]);
      expect(await store.listByClient(c)).toEqual([shared]);
      await store.delete(c, [`$share/g/${long}`]);
      expect(await store.listByClient(c)).toEqual([]);
    });

    it('keeps two long filters that differ only after the first kilobyte apart, and matching stays exact', async () => {
      const c = clientId();
      const prefix = `p/${'y'.repeat(1500)}`;
      const a = subscription(c, `${prefix}/a`);
      const b = subscription(c, `${prefix}/b`);
      await store.put([a, b]);
      expect(await store.listByClient(c)).toEqual([a, b]);
      expect(await matching(`${prefix}/a`, c)).toEqual([a]);
      await store.put([{ ...a, qos: 2 }]); // [MQTT-3.8.4-3] replaces, by the full filter
      expect((await store.listByClient(c)).map((r) => [r.filter, r.qos])).toEqual([
        [a.filter, 2],
        [b.filter, 1],
      ]);
    });

    it('routes a filter whose first level is over the 2,048-byte partition key limit, counted in UTF-8 bytes', async () => {
      const c = clientId();
      const level = 'é'.repeat(1100); // 1,100 characters, 2,200 bytes
      const deep = subscription(c, `${level}/#`);
      const exact = subscription(c, level);
      await store.put([deep, exact]);
      expect(await matching(level, c)).toEqual([deep, exact].sort(byFilter));
      expect(await matching(`${level}/x`, c)).toEqual([deep]);
      expect(await matching(`${'é'.repeat(1099)}e/x`, c)).toEqual([]);
      await store.attach(c, 'epoch-1', null, Math.floor(time.nowMs / 1000) + 60);
      expect((await store.listByClient(c)).map((r) => r.connection)).toEqual([undefined, undefined]);
      await store.delete(c, [deep.filter, exact.filter]);
      expect(await store.listByClient(c)).toEqual([]);
    });
  });
}
