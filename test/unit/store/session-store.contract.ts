/**
 * The SessionStore contract: every adapter passes these tests. Run by
 * test/unit/store/memory-session-store.test.ts and
 * test/integration/store/dynamodb-session-store.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProtocolVersion, Will } from '../../../lib/mqtt/types';
import type { Clock } from '../../../lib/store/clock';
import { ClientIdInUseError, SessionTakenOverError } from '../../../lib/store/errors';
import type { ClaimRequest, SessionStore } from '../../../lib/store/ports';
import { ManualClock } from './connection-store.contract';

export type SessionStoreFactory = (clock: Clock) => SessionStore | Promise<SessionStore>;

const HOUR = 3600;

export function sessionStoreContract(adapter: string, makeStore: SessionStoreFactory): void {
  describe(`SessionStore contract: ${adapter}`, () => {
    let time: ManualClock;
    let store: SessionStore;

    beforeEach(async () => {
      time = new ManualClock();
      store = await makeStore(time.clock);
    });

    const nowSeconds = () => Math.floor(time.nowMs / 1000);
    const clientId = () => `client-${randomUUID()}`;
    const connId = () => `conn-${randomUUID()}`;
    const will = (overrides: Partial<Will> = {}): Will => ({
      topic: 'plant/7/status',
      payload: new Uint8Array([0x6f, 0x66, 0x66]),
      qos: 1,
      retain: true,
      ...overrides,
    });
    const delayedWill = (willDelayInterval: number) => will({ properties: { willDelayInterval } });
    const claim = (overrides: Partial<ClaimRequest> & { clientId: string }): ClaimRequest => ({
      connectionId: connId(),
      cleanStart: false,
      protocolVersion: 5,
      sessionExpiryInterval: HOUR,
      requestTimeEpoch: time.nowMs,
      ...overrides,
    });
    /** A session that has been online and gone offline (expiry 1 h by default). */
    const offlineSession = async (overrides: Partial<ClaimRequest> = {}) => {
      const request = claim({ clientId: clientId(), ...overrides });
      const claimed = await store.claim(request);
      await store.release({ clientId: request.clientId, connectionId: request.connectionId });
      time.advanceSeconds(1);
      return { ...request, ...claimed };
    };

    describe('get', () => {
      it('returns undefined for a client id that never had a session', async () => {
        expect(await store.get(clientId())).toBeUndefined();
      });

      it('returns the owned session', async () => {
        const request = claim({ clientId: clientId(), will: will() });
        const { sessionEpoch } = await store.claim(request);
        expect(await store.get(request.clientId)).toEqual({
          clientId: request.clientId,
          connectionId: request.connectionId,
          ownerConnectionId: request.connectionId,
          ownerRequestTimeEpoch: request.requestTimeEpoch,
          protocolVersion: 5,
          sessionExpiryInterval: HOUR,
          sessionEpoch,
          createdAt: time.nowMs,
          will: will(),
          expiresAt: expect.any(Number),
        });
      });

      it('hides a session once its expiry has passed (TTL deletes late)', async () => {
        const s = await offlineSession({ sessionExpiryInterval: 60 });
        expect(await store.get(s.clientId)).toMatchObject({ disconnectedAt: expect.any(Number) });
        time.advanceSeconds(60);
        expect(await store.get(s.clientId)).toBeUndefined();
      });
    });

    describe.each([4, 5] as const)('claim: Session Present, protocol %i', (protocolVersion: ProtocolVersion) => {
      it('[MQTT-3.2.2-3] is false for a client id that never had a session', async () => {
        const result = await store.claim(claim({ clientId: clientId(), protocolVersion }));
        expect(result.sessionPresent).toBe(false);
        expect(result.previousConnectionId).toBeUndefined();
      });

      it('[MQTT-3.2.2-3] is true with Clean Start 0 and a live session, which keeps its epoch', async () => {
        const s = await offlineSession({ protocolVersion });
        const result = await store.claim(claim({ clientId: s.clientId, protocolVersion }));
        expect(result).toEqual({ sessionPresent: true, sessionEpoch: s.sessionEpoch });
      });

      it('[MQTT-3.1.2-4] [MQTT-3.2.2-2] is false with Clean Start 1, which starts a new epoch', async () => {
        const s = await offlineSession({ protocolVersion });
        const result = await store.claim(claim({ clientId: s.clientId, protocolVersion, cleanStart: true }));
        expect(result.sessionPresent).toBe(false);
        expect(result.sessionEpoch).not.toBe(s.sessionEpoch);
      });

      it('is false for an expired session, which starts a new epoch', async () => {
        const s = await offlineSession({ protocolVersion, sessionExpiryInterval: 30 });
        time.advanceSeconds(30);
        const result = await store.claim(claim({ clientId: s.clientId, protocolVersion }));
        expect(result.sessionPresent).toBe(false);
        expect(result.sessionEpoch).not.toBe(s.sessionEpoch);
      });

      it('is false after a session with expiry 0 was released', async () => {
        const s = await offlineSession({ protocolVersion, sessionExpiryInterval: 0 });
        expect(await store.get(s.clientId)).toBeUndefined();
        expect((await store.claim(claim({ clientId: s.clientId, protocolVersion }))).sessionPresent).toBe(false);
      });

      it('does not depend on the hint', async () => {
        const s = await offlineSession({ protocolVersion });
        const present = await store.claim(claim({ clientId: s.clientId, protocolVersion, hint: 'absent' }));
        expect(present.sessionPresent).toBe(true);
        const id = clientId();
        expect((await store.claim(claim({ clientId: id, protocolVersion, hint: 'present' }))).sessionPresent).toBe(false);
      });
    });

    describe('claim: takeover [MQTT-3.1.4-3]', () => {
      it('returns the previous owner and makes the new connection the owner', async () => {
        const first = claim({ clientId: clientId() });
        await store.claim(first);
        time.advanceSeconds(1);
        const second = claim({ clientId: first.clientId, requestTimeEpoch: time.nowMs });
        const result = await store.claim(second);
        expect(result).toMatchObject({ sessionPresent: true, previousConnectionId: first.connectionId });
        expect((await store.get(first.clientId))?.connectionId).toBe(second.connectionId);
      });

      it.each([
        ['first', 'newer'],
        ['newer', 'first'],
      ])('two racing CONNECTs leave the newer one owning the session (%s runs first)', async (runsFirst) => {
        for (let round = 0; round < 5; round++) {
          const id = clientId();
          const older = claim({ clientId: id, requestTimeEpoch: time.nowMs - 10 });
          const newer = claim({ clientId: id, requestTimeEpoch: time.nowMs });
          const order = runsFirst === 'first' ? [older, newer] : [newer, older];
          const settled = await Promise.allSettled(order.map((r) => store.claim(r)));
          const [olderResult, newerResult] = runsFirst === 'first' ? settled : [settled[1], settled[0]];
          expect(newerResult.status).toBe('fulfilled');
          if (olderResult.status === 'rejected') {
            expect(olderResult.reason).toBeInstanceOf(SessionTakenOverError);
          } else if (newerResult.status === 'fulfilled') {
            expect(newerResult.value.previousConnectionId).toBe(older.connectionId);
          }
          expect((await store.get(id))?.connectionId).toBe(newer.connectionId);
        }
      });

      it('rejects an older CONNECT that arrives after the newer one', async () => {
        const id = clientId();
        const newer = claim({ clientId: id });
        await store.claim(newer);
        const older = claim({ clientId: id, requestTimeEpoch: time.nowMs - 1, cleanStart: true });
        const error = await store.claim(older).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SessionTakenOverError);
        expect((await store.get(id))?.connectionId).toBe(newer.connectionId);
      });

      it('rejects an older CONNECT even after the newer owner went offline', async () => {
        const s = await offlineSession();
        const stale = claim({ clientId: s.clientId, requestTimeEpoch: s.requestTimeEpoch - 1 });
        await expect(store.claim(stale)).rejects.toBeInstanceOf(SessionTakenOverError);
      });

      it('breaks a tie of arrival times by connection id', async () => {
        const id = clientId();
        const [low, high] = ['conn-a', 'conn-b'].map((c) => claim({ clientId: id, connectionId: `${c}-${randomUUID()}` }));
        await store.claim(high);
        await expect(store.claim(low)).rejects.toBeInstanceOf(SessionTakenOverError);
        expect((await store.get(id))?.connectionId).toBe(high.connectionId);
      });

      it('lets an older CONNECT start a session over an expired one', async () => {
        const s = await offlineSession({ sessionExpiryInterval: 10 });
        time.advanceSeconds(10);
        const stale = claim({ clientId: s.clientId, requestTimeEpoch: s.requestTimeEpoch - 1 });
        expect((await store.claim(stale)).sessionPresent).toBe(false);
      });
    });

    describe('claim: assigned client id [MQTT-3.2.2-16]', () => {
      it('succeeds when no session holds the id', async () => {
        const result = await store.claim(claim({ clientId: clientId(), assignedClientId: true, cleanStart: true }));
        expect(result.sessionPresent).toBe(false);
      });

      it('fails with ClientIdInUseError when a live session holds it, online or offline', async () => {
        const online = claim({ clientId: clientId() });
        await store.claim(online);
        const later = { requestTimeEpoch: time.nowMs + 1, assignedClientId: true };
        await expect(store.claim(claim({ clientId: online.clientId, ...later }))).rejects.toBeInstanceOf(ClientIdInUseError);
        const offline = await offlineSession();
        await expect(store.claim(claim({ clientId: offline.clientId, ...later, requestTimeEpoch: time.nowMs }))).rejects.toBeInstanceOf(
          ClientIdInUseError,
        );
        expect((await store.get(online.clientId))?.connectionId).toBe(online.connectionId);
      });
    });

    describe('release', () => {
      it('sets the session offline until disconnect + expiry', async () => {
        const request = claim({ clientId: clientId(), sessionExpiryInterval: 120 });
        await store.claim(request);
        time.advanceSeconds(5);
        const result = await store.release({ clientId: request.clientId, connectionId: request.connectionId });
        expect(result).toEqual({ outcome: 'released', will: { action: 'none' }, sessionEnded: false, willHeld: false });
        const record = await store.get(request.clientId);
        expect(record?.connectionId).toBeUndefined();
        expect(record).toMatchObject({ disconnectedAt: time.nowMs, expiresAt: nowSeconds() + 120 });
      });

      it('uses the given time', async () => {
        const request = claim({ clientId: clientId() });
        await store.claim(request);
        await store.release({ clientId: request.clientId, connectionId: request.connectionId, now: time.nowMs + 2000 });
        expect((await store.get(request.clientId))?.disconnectedAt).toBe(time.nowMs + 2000);
      });

      it('ends a session with expiry 0 at once', async () => {
        const request = claim({ clientId: clientId(), sessionExpiryInterval: 0 });
        await store.claim(request);
        const result = await store.release({ clientId: request.clientId, connectionId: request.connectionId });
        expect(result).toMatchObject({ outcome: 'released', sessionEnded: true });
        expect(await store.get(request.clientId)).toBeUndefined();
      });

      it('is a no-op for a connection that no longer owns the session (stale release after a takeover)', async () => {
        const id = clientId();
        const first = claim({ clientId: id, will: will() });
        await store.claim(first);
        const second = claim({ clientId: id, requestTimeEpoch: time.nowMs + 1, will: will({ topic: 'second' }) });
        await store.claim(second);
        expect(await store.release({ clientId: id, connectionId: first.connectionId })).toEqual({ outcome: 'not-owner' });
        expect(await store.get(id)).toMatchObject({ connectionId: second.connectionId, will: { topic: 'second' } });
      });

      it('run again by the same connection, finds nothing more to take (issue 13); a no-op for an unknown client id', async () => {
        const request = claim({ clientId: clientId() });
        await store.claim(request);
        await store.release(request);
        expect(await store.release(request)).toEqual({ outcome: 'released', will: { action: 'none' }, sessionEnded: false, willHeld: false });
        expect(await store.release({ clientId: clientId(), connectionId: connId() })).toEqual({ outcome: 'not-owner' });
      });
    });

    describe.each([4, 5] as const)('wills, protocol %i', (protocolVersion) => {
      it('[MQTT-3.1.2-8] release hands out a will without delay for publishing, once', async () => {
        const request = claim({ clientId: clientId(), protocolVersion, will: will() });
        await store.claim(request);
        const result = await store.release(request);
        expect(result).toMatchObject({ outcome: 'released', will: { action: 'publish', will: will() } });
        expect((await store.get(request.clientId))?.will).toBeUndefined();
      });

      it('[MQTT-3.14.4-3] discardWill deletes the will without handing it out', async () => {
        const request = claim({ clientId: clientId(), protocolVersion, will: will() });
        await store.claim(request);
        expect(await store.discardWill(request)).toBe('updated');
        expect((await store.get(request.clientId))?.will).toBeUndefined();
        expect(await store.release(request)).toMatchObject({ outcome: 'released', will: { action: 'none' } });
      });

      it('takeWill hands out the will once', async () => {
        const request = claim({ clientId: clientId(), protocolVersion, will: will() });
        await store.claim(request);
        expect(await store.takeWill(request)).toEqual({ outcome: 'taken', will: will() });
        expect(await store.takeWill(request)).toEqual({ outcome: 'no-will' });
        expect(await store.release(request)).toMatchObject({ will: { action: 'none' } });
      });

      it('the will of a CONNECT replaces the stored one, and a CONNECT without will removes it', async () => {
        const s = await offlineSession({ protocolVersion });
        const next = claim({ clientId: s.clientId, protocolVersion, will: will({ topic: 'next' }) });
        await store.claim(next);
        expect((await store.get(s.clientId))?.will?.topic).toBe('next');
        await store.release(next);
        const last = claim({ clientId: s.clientId, protocolVersion, requestTimeEpoch: time.nowMs + 1 });
        await store.claim(last);
        expect((await store.get(s.clientId))?.will).toBeUndefined();
      });

      it('[MQTT-3.1.4-3] a takeover hands out the will of the previous owner (no delay)', async () => {
        const id = clientId();
        const first = claim({ clientId: id, protocolVersion, will: will() });
        await store.claim(first);
        const result = await store.claim(claim({ clientId: id, protocolVersion, requestTimeEpoch: time.nowMs + 1 }));
        expect(result.previousWill).toEqual(will());
      });

      it('owner operations by another connection change nothing', async () => {
        const request = claim({ clientId: clientId(), protocolVersion, will: will() });
        await store.claim(request);
        const stranger = { clientId: request.clientId, connectionId: connId() };
        expect(await store.takeWill(stranger)).toEqual({ outcome: 'not-owner' });
        expect(await store.discardWill(stranger)).toBe('not-owner');
        expect(await store.setExpiry({ ...stranger, sessionExpiryInterval: 0 })).toBe('not-owner');
        expect(await store.get(request.clientId)).toMatchObject({ will: will(), sessionExpiryInterval: HOUR });
      });

      it('hands out a will at most once under concurrent takeWill and release', async () => {
        for (let round = 0; round < 5; round++) {
          const request = claim({ clientId: clientId(), protocolVersion, will: will() });
          await store.claim(request);
          const [taken, released] = await Promise.all([store.takeWill(request), store.release(request)]);
          const handedOut = [
            taken.outcome === 'taken',
            released.outcome === 'released' && released.will.action === 'publish',
          ].filter(Boolean);
          expect(handedOut).toHaveLength(1);
        }
      });
    });

    describe('setExpiry', () => {
      it('changes the interval that release counts from', async () => {
        const request = claim({ clientId: clientId(), sessionExpiryInterval: HOUR });
        await store.claim(request);
        expect(await store.setExpiry({ ...request, sessionExpiryInterval: 0 })).toBe('updated');
        expect(await store.release(request)).toMatchObject({ sessionEnded: true });
        expect(await store.get(request.clientId)).toBeUndefined();
      });
    });

    describe('delayed wills [MQTT-3.1.3-9]', () => {
      it('release defers a will with a delay until the delay has passed', async () => {
        const request = claim({ clientId: clientId(), will: delayedWill(30) });
        await store.claim(request);
        const dueAt = time.nowMs + 30_000;
        expect(await store.release(request)).toEqual({
          outcome: 'released',
          will: { action: 'deferred', will: delayedWill(30), dueAt },
          sessionEnded: false,
          willHeld: false,
        });
        expect(await store.get(request.clientId)).toMatchObject({ will: delayedWill(30), willDueAt: dueAt });
        expect(await store.takeDueWill(request.clientId, dueAt - 1)).toBeUndefined();
        expect(await store.takeDueWill(request.clientId, dueAt)).toEqual(delayedWill(30));
        expect(await store.takeDueWill(request.clientId, dueAt)).toBeUndefined();
        await store.settleDueWill(request.clientId); // published: the sweeper's lease ends (issue 13)
        expect((await store.get(request.clientId))?.willDueAt).toBeUndefined();
      });

      it('the will is due when the session ends, if that is earlier than the delay', async () => {
        const request = claim({ clientId: clientId(), will: delayedWill(600), sessionExpiryInterval: 60 });
        await store.claim(request);
        expect(await store.release(request)).toMatchObject({ will: { action: 'deferred', dueAt: time.nowMs + 60_000 } });
      });

      it('a session with expiry 0 publishes its will at release despite the delay', async () => {
        const request = claim({ clientId: clientId(), will: delayedWill(600), sessionExpiryInterval: 0 });
        await store.claim(request);
        expect(await store.release(request)).toMatchObject({ will: { action: 'publish' }, sessionEnded: true });
      });

      it('a reclaim with Clean Start 0 before the will is due cancels it', async () => {
        const s = await offlineSession({ will: delayedWill(30) });
        const result = await store.claim(claim({ clientId: s.clientId, requestTimeEpoch: time.nowMs }));
        expect(result.previousWill).toBeUndefined();
        time.advanceSeconds(60);
        expect(await store.takeDueWill(s.clientId)).toBeUndefined();
        expect((await store.dueWills({ limit: 100 })).map((d) => d.clientId)).not.toContain(s.clientId);
      });

      it('a reclaim with Clean Start 1 ends the session: the will is handed out', async () => {
        const s = await offlineSession({ will: delayedWill(30) });
        const result = await store.claim(claim({ clientId: s.clientId, requestTimeEpoch: time.nowMs, cleanStart: true }));
        expect(result.previousWill).toEqual(delayedWill(30));
        expect(await store.takeDueWill(s.clientId, time.nowMs + 60_000)).toBeUndefined();
      });

      it('a reclaim after the will fell due hands it out, once', async () => {
        const s = await offlineSession({ will: delayedWill(30) });
        time.advanceSeconds(30);
        const result = await store.claim(claim({ clientId: s.clientId, requestTimeEpoch: time.nowMs }));
        expect(result).toMatchObject({ sessionPresent: true, previousWill: delayedWill(30) });
        expect(await store.takeDueWill(s.clientId)).toBeUndefined();
      });

      it('a takeover with Clean Start 0 does not hand out a will with a delay; with Clean Start 1 it does', async () => {
        const id = clientId();
        await store.claim(claim({ clientId: id, will: delayedWill(30) }));
        const resumed = await store.claim(claim({ clientId: id, requestTimeEpoch: time.nowMs + 1, will: delayedWill(30) }));
        expect(resumed.previousWill).toBeUndefined();
        const fresh = await store.claim(claim({ clientId: id, requestTimeEpoch: time.nowMs + 2, cleanStart: true }));
        expect(fresh.previousWill).toEqual(delayedWill(30));
      });

      it('two sweepers take a due will once', async () => {
        for (let round = 0; round < 5; round++) {
          const s = await offlineSession({ will: delayedWill(1) });
          const taken = await Promise.all([store.takeDueWill(s.clientId), store.takeDueWill(s.clientId)]);
          expect(taken.filter((w) => w !== undefined)).toEqual([delayedWill(1)]);
        }
      });

      it('dueWills finds due wills through the index, earliest first, up to the limit', async () => {
        time.advanceSeconds(-10 * 24 * HOUR); // before the due wills of other tests sharing the table
        const delays = [50, 10, 40, 20, 30, 600];
        const ids: string[] = [];
        for (const delay of delays) {
          const request = claim({ clientId: clientId(), will: delayedWill(delay), sessionExpiryInterval: 30 * 24 * HOUR });
          ids.push(request.clientId);
          await store.claim(request);
          await store.release({ ...request, now: time.nowMs });
        }
        const now = time.nowMs + 45_000;
        const due = await store.dueWills({ now, limit: 100 });
        expect(due.map((d) => d.clientId)).toEqual([ids[1], ids[3], ids[4], ids[2]]);
        expect(due.map((d) => d.willDueAt)).toEqual([10, 20, 30, 40].map((s) => time.nowMs + s * 1000));
        expect((await store.dueWills({ now, limit: 2 })).map((d) => d.clientId)).toEqual([ids[1], ids[3]]);
        expect(await store.takeDueWill(ids[1], now)).toEqual(delayedWill(10));
        expect((await store.dueWills({ now, limit: 100 })).map((d) => d.clientId)).toEqual([ids[3], ids[4], ids[2]]);
      });
    });

    describe('round trip', () => {
      it('keeps v5 will properties and binary payloads exactly', async () => {
        const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
        const properties = {
          willDelayInterval: 0,
          payloadFormatIndicator: 0,
          messageExpiryInterval: 120,
          contentType: 'application/octet-stream',
          responseTopic: 'plant/7/reply',
          correlationData: new Uint8Array([0, 255, 1, 254, 0x80]),
          userProperties: [
            ['z', '1'],
            ['a', '2'],
            ['z', '0'],
          ] as [string, string][],
        };
        const full = will({ payload, properties, qos: 2, retain: false });
        const request = claim({ clientId: clientId(), will: full });
        await store.claim(request);
        const stored = await store.get(request.clientId);
        expect(stored?.will).toEqual(full);
        expect(stored?.will?.properties?.userProperties).toEqual(properties.userProperties);
        expect(await store.takeWill(request)).toEqual({ outcome: 'taken', will: full });
      });

      it('keeps an empty payload and protocol 3', async () => {
        const request = claim({ clientId: clientId(), protocolVersion: 3, will: will({ payload: new Uint8Array(0), qos: 0 }) });
        await store.claim(request);
        expect(await store.get(request.clientId)).toMatchObject({ protocolVersion: 3, will: { payload: new Uint8Array(0) } });
      });

      it('returns copies: changing a result does not change the store', async () => {
        const request = claim({ clientId: clientId(), will: will() });
        await store.claim(request);
        const read = await store.get(request.clientId);
        if (read?.will) read.will.payload[0] = 0;
        expect((await store.get(request.clientId))?.will).toEqual(will());
      });
    });
  });
}
