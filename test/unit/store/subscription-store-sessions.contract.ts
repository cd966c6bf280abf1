/**
 * SubscriptionStore contract, part 3: writes on behalf of a session, against a real SessionStore
 * (issue 13). A late SUBSCRIBE or UNSUBSCRIBE from a superseded connection must not act on the
 * session that replaced it (defect 2); a stale record never hides the live one from routing;
 * `deleteAll` is scoped to epochs (gap 10); `setExpiry` moves the TTL of a session's records
 * (defect 4). Run by test/unit/store/memory-subscription-store.test.ts and
 * test/integration/store/dynamodb-subscription-store.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../lib/store/clock';
import { SessionTakenOverError } from '../../../lib/store/errors';
import type { SessionStore } from '../../../lib/store/session-port';
import type { SubscriptionRecord, SubscriptionStore } from '../../../lib/store/subscription-port';
import { ManualClock } from './connection-store.contract';

export interface SessionBackedStores {
  readonly subscriptions: SubscriptionStore;
  readonly sessions: SessionStore;
}
export type SessionBackedFactory = (clock: Clock) => SessionBackedStores | Promise<SessionBackedStores>;

const HOUR = 3600;

export function subscriptionSessionContract(adapter: string, makeStores: SessionBackedFactory): void {
  describe(`SubscriptionStore contract, writes on behalf of a session (issue 13): ${adapter}`, () => {
    let time: ManualClock;
    let store: SubscriptionStore;
    let sessions: SessionStore;

    beforeEach(async () => {
      time = new ManualClock();
      time.nowMs = Math.floor(time.nowMs / 1000) * 1000; // a test's few 1 ms steps stay in one second
      ({ subscriptions: store, sessions } = await makeStores(time.clock));
    });

    const nowSeconds = () => Math.floor(time.nowMs / 1000);
    const clientId = () => `client-${randomUUID()}`;
    /** A CONNECT of `connectionId` for the client, one ms after the previous one; its writer. */
    const connect = async (client: string, connectionId: string, cleanStart: boolean) => {
      time.nowMs += 1;
      const { sessionEpoch } = await sessions.claim({
        clientId: client,
        connectionId,
        cleanStart,
        protocolVersion: 5,
        sessionExpiryInterval: HOUR,
        requestTimeEpoch: time.nowMs,
      });
      return { sessionEpoch, connectionId };
    };
    const subscription = (client: string, filter: string, writer: { sessionEpoch: string; connectionId: string }, qos: 0 | 1 | 2 = 1): SubscriptionRecord => ({
      clientId: client,
      filter,
      topicFilter: filter,
      qos,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
      sessionEpoch: writer.sessionEpoch,
      persistent: true,
      connection: { connectionId: writer.connectionId, protocolVersion: 5, mode: 'text' },
      expiresAt: nowSeconds() + HOUR,
    });
    const filtersOf = async (client: string) => (await store.listByClient(client)).map((r) => r.filter);

    describe('SUBSCRIBE and UNSUBSCRIBE are conditional on the session (defect 2)', () => {
      it('the owner writes and deletes', async () => {
        const c = clientId();
        const owner = await connect(c, 'conn-1', true);
        await store.put([subscription(c, 'a', owner), subscription(c, 'b', owner)], owner);
        await store.delete(c, ['a'], owner);
        expect(await filtersOf(c)).toEqual(['b']);
      });

      it('a late SUBSCRIBE of a connection superseded by a clean start is refused and writes nothing', async () => {
        const c = clientId();
        const old = await connect(c, 'conn-1', true);
        const live = await connect(c, 'conn-2', true);
        await store.put([subscription(c, 'live', live)], live);
        await expect(store.put([subscription(c, 'live', old, 0), subscription(c, 'late', old)], old)).rejects.toBeInstanceOf(SessionTakenOverError);
        expect(await store.listByClient(c)).toEqual([subscription(c, 'live', live)]);
      });

      it('a late SUBSCRIBE of a connection superseded by a resume (same epoch) is refused', async () => {
        const c = clientId();
        const old = await connect(c, 'conn-1', true);
        const resumed = await connect(c, 'conn-2', false);
        expect(resumed.sessionEpoch).toBe(old.sessionEpoch);
        await store.put([subscription(c, 'a', resumed)], resumed);
        await expect(store.put([subscription(c, 'a', old, 2)], old)).rejects.toBeInstanceOf(SessionTakenOverError);
        expect((await store.routesFor('a')).filter((r) => r.clientId === c)).toEqual([subscription(c, 'a', resumed)]);
      });

      it('a late UNSUBSCRIBE of a superseded connection is refused: the live subscription stays', async () => {
        const c = clientId();
        const old = await connect(c, 'conn-1', true);
        const resumed = await connect(c, 'conn-2', false);
        await store.put([subscription(c, 'a', resumed)], resumed);
        await expect(store.delete(c, ['a'], old)).rejects.toBeInstanceOf(SessionTakenOverError);
        expect(await filtersOf(c)).toEqual(['a']);
      });

      it('a SUBSCRIBE after the session went offline is refused', async () => {
        const c = clientId();
        const owner = await connect(c, 'conn-1', true);
        await sessions.release({ clientId: c, connectionId: 'conn-1', now: time.nowMs });
        await expect(store.put([subscription(c, 'a', owner)], owner)).rejects.toBeInstanceOf(SessionTakenOverError);
        expect(await filtersOf(c)).toEqual([]);
      });

      it('[MQTT-3.8.4-3] one SUBSCRIBE naming a filter twice keeps the last', async () => {
        const c = clientId();
        const owner = await connect(c, 'conn-1', true);
        await store.put([subscription(c, 'a', owner, 0), subscription(c, 'a', owner, 2)], owner);
        expect((await store.listByClient(c)).map((r) => r.qos)).toEqual([2]);
      });
    });

    describe('routing: a stale record never hides the live one (defect 2)', () => {
      it("only the records of the client's newest epoch are routed", async () => {
        const c = clientId();
        const old = await connect(c, 'conn-1', true);
        const live = await connect(c, 'conn-2', true);
        // left over from the old session (written before the takeover, not yet deleted)
        await store.put([subscription(c, 'a/+', old, 2), subscription(c, 'a/#', old)]);
        await store.put([subscription(c, 'a/b', live)], live);
        const routed = (await store.routesFor('a/b')).filter((r) => r.clientId === c);
        expect(routed).toEqual([subscription(c, 'a/b', live)]);
      });
    });

    describe('deleteAll is scoped to epochs (gap 10)', () => {
      it("{ before }: a new session's start keeps the new session's subscriptions", async () => {
        const c = clientId();
        const old = await connect(c, 'conn-1', true);
        await store.put([subscription(c, 'old', old)], old);
        const live = await connect(c, 'conn-2', true);
        await store.put([subscription(c, 'new', live)], live); // ran before the start's deleteAll
        await store.deleteAll(c, { before: live.sessionEpoch });
        expect(await filtersOf(c)).toEqual(['new']);
      });

      it("{ through }: an ended session's records go, a newer session's stay", async () => {
        const c = clientId();
        const old = await connect(c, 'conn-1', true);
        await store.put([subscription(c, 'old', old)], old);
        const live = await connect(c, 'conn-2', true);
        await store.put([subscription(c, 'new', live)], live);
        await store.deleteAll(c, { through: old.sessionEpoch });
        expect(await filtersOf(c)).toEqual(['new']);
        await store.deleteAll(c, { through: live.sessionEpoch });
        expect(await filtersOf(c)).toEqual([]);
      });
    });

    describe('setExpiry moves the TTL of the session (defect 4)', () => {
      it("moves every record of the epoch, and no other epoch's", async () => {
        const c = clientId();
        const old = await connect(c, 'conn-1', true);
        await store.put([subscription(c, 'old', old)]);
        const live = await connect(c, 'conn-2', true);
        await store.put([subscription(c, 'a', live), subscription(c, 'b', live)], live);
        const later = nowSeconds() + 10 * HOUR;
        await store.setExpiry(c, live.sessionEpoch, later);
        await store.setExpiry(c, live.sessionEpoch, later); // a rerun is harmless
        const records = await store.listByClient(c);
        expect(records.map((r) => [r.filter, r.expiresAt])).toEqual([
          ['a', later],
          ['b', later],
          ['old', nowSeconds() + HOUR],
        ]);
        time.advanceSeconds(2 * HOUR);
        expect(await filtersOf(c)).toEqual(['a', 'b']);
      });
    });
  });
}
