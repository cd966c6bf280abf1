/**
 * The SessionStore contract for operations run again (issue 13): a claim, a release or a CONNECT's
 * abandon that runs a second time (a handler rerun, an SDK resend) answers what the first run
 * answered, and the principal is part of the claim. Run by test/unit/store/memory-session-store.test.ts
 * and test/integration/store/dynamodb-session-store.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProtocolVersion, Will } from '../../../lib/mqtt/types';
import { ClientIdOfAnotherPrincipalError, SessionTakenOverError } from '../../../lib/store/errors';
import type { ClaimRequest, SessionStore } from '../../../lib/store/ports';
import { DUE_WILL_LEASE_MS, HELD_WILL_LEASE_MS } from '../../../lib/store/session-reruns';
import { ManualClock } from './connection-store.contract';
import type { SessionStoreFactory } from './session-store.contract';

const HOUR = 3600;

export function sessionRetryContract(adapter: string, makeStore: SessionStoreFactory): void {
  describe.each([4, 5] as const)(`SessionStore contract, runs again: ${adapter}, protocol %i`, (protocolVersion: ProtocolVersion) => {
    let time: ManualClock;
    let store: SessionStore;

    beforeEach(async () => {
      time = new ManualClock();
      store = await makeStore(time.clock);
    });

    const will = (topic = 'plant/7/status', overrides: Partial<Will> = {}): Will => ({ topic, payload: new Uint8Array([1]), qos: 1, retain: false, ...overrides });
    const claim = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
      clientId: `client-${randomUUID()}`,
      connectionId: `conn-${randomUUID()}`,
      cleanStart: false,
      protocolVersion,
      sessionExpiryInterval: HOUR,
      requestTimeEpoch: time.nowMs,
      ...overrides,
    });
    const later = (request: ClaimRequest, overrides: Partial<ClaimRequest> = {}): ClaimRequest => {
      time.advanceSeconds(1);
      return { ...request, connectionId: `conn-${randomUUID()}`, requestTimeEpoch: time.nowMs, ...overrides };
    };

    describe('claim run again by the same CONNECT', () => {
      it.each(['absent', 'present', undefined] as const)('[MQTT-3.2.2-3] a new session stays Session Present 0 (hint %s)', async (hint) => {
        const request = claim({ hint });
        const first = await store.claim(request);
        expect(first.sessionPresent).toBe(false);
        expect(await store.claim(request)).toEqual(first);
        expect((await store.get(request.clientId))?.connectionId).toBe(request.connectionId);
      });

      it('[MQTT-3.2.2-2] a clean start stays Session Present 0 with its new epoch', async () => {
        const earlier = claim();
        await store.claim(earlier);
        await store.release(earlier);
        const request = later(earlier, { cleanStart: true });
        const first = await store.claim(request);
        expect(await store.claim(request)).toEqual(first);
        expect(first.sessionPresent).toBe(false);
      });

      it('[MQTT-3.2.2-3] a resumed session stays Session Present 1 with its epoch', async () => {
        const earlier = claim();
        const { sessionEpoch } = await store.claim(earlier);
        await store.release(earlier);
        const request = later(earlier);
        const first = await store.claim(request);
        expect(first).toEqual({ sessionPresent: true, sessionEpoch });
        expect(await store.claim(request)).toEqual(first);
      });

      it('[MQTT-3.1.4-3] a takeover hands out the previous connection and its will again', async () => {
        const earlier = claim({ will: will('previous') });
        await store.claim(earlier);
        const request = later(earlier, { will: will('mine') });
        const first = await store.claim(request);
        expect(first).toMatchObject({ sessionPresent: true, previousConnectionId: earlier.connectionId, previousWill: will('previous') });
        expect(await store.claim(request)).toEqual(first);
        expect((await store.get(request.clientId))?.will).toEqual(will('mine'));
      });

      it('a newer claim still wins over the rerun of an older one', async () => {
        const request = claim();
        await store.claim(request);
        const newer = later(request);
        await store.claim(newer);
        await expect(store.claim(request)).rejects.toBeInstanceOf(SessionTakenOverError);
        expect((await store.get(request.clientId))?.connectionId).toBe(newer.connectionId);
      });
    });

    describe('the principal is part of the claim', () => {
      const variants: [string, Partial<ClaimRequest>][] = [
        ['Clean Start 0', {}],
        ['Clean Start 0, hint absent (create, then resume)', { hint: 'absent' }],
        ['Clean Start 1', { cleanStart: true }],
      ];
      it.each(variants)('a live session of another principal is not claimed: %s', async (_name, overrides) => {
        const alice = claim({ principal: 'alice', will: will() });
        await store.claim(alice);
        const mallory = later(alice, { principal: 'mallory', ...overrides });
        await expect(store.claim(mallory)).rejects.toBeInstanceOf(ClientIdOfAnotherPrincipalError);
        const anonymous = later(alice, { principal: undefined, ...overrides });
        await expect(store.claim(anonymous)).rejects.toBeInstanceOf(ClientIdOfAnotherPrincipalError);
        await store.release(alice);
        await expect(store.claim(later(alice, { principal: 'mallory', ...overrides }))).rejects.toBeInstanceOf(ClientIdOfAnotherPrincipalError);
        expect(await store.get(alice.clientId)).toMatchObject({ ownerConnectionId: alice.connectionId, principal: 'alice' });
      });

      it('a user cannot take an anonymous session; the same principal can, and anyone an expired one', async () => {
        const anonymous = claim({ sessionExpiryInterval: 60 });
        await store.claim(anonymous);
        await expect(store.claim(later(anonymous, { principal: 'bob' }))).rejects.toBeInstanceOf(ClientIdOfAnotherPrincipalError);
        expect((await store.claim(later(anonymous))).sessionPresent).toBe(true);
        const bob = claim({ principal: 'bob', sessionExpiryInterval: 60 });
        await store.claim(bob);
        expect((await store.claim(later(bob, { principal: 'bob' }))).sessionPresent).toBe(true);
        await store.release({ clientId: bob.clientId, connectionId: (await store.get(bob.clientId))?.connectionId as string });
        time.advanceSeconds(61);
        expect((await store.claim(later(bob, { principal: 'carol' }))).sessionPresent).toBe(false);
      });
    });

    describe('release run again by the same connection', () => {
      it('[MQTT-3.1.2-8] hands out the will it took again until settleWill, and never to a claim', async () => {
        const request = claim({ will: will() });
        await store.claim(request);
        const first = await store.release({ ...request, hasWill: true });
        expect(first).toEqual({ outcome: 'released', will: { action: 'publish', will: will() }, sessionEnded: false, willHeld: true });
        expect((await store.get(request.clientId))?.will).toBeUndefined();
        // Another run at once (a \$disconnect beside a 410) leaves the will to the first run.
        expect(await store.release({ ...request, hasWill: true })).toEqual({ outcome: 'in-progress' });
        // A rerun after the first run died (the lease passed) gets it.
        time.advanceSeconds(HELD_WILL_LEASE_MS / 1000);
        expect(await store.release({ ...request, hasWill: true })).toEqual(first);
        await store.settleWill(request);
        await store.settleWill(request);
        expect(await store.release({ ...request, hasWill: true })).toEqual({ outcome: 'released', will: { action: 'none' }, sessionEnded: false, willHeld: false });
      });

      it('[MQTT-3.1.2-8] a serialized rerun (ordered ingress) gets the held will at once: the earlier run failed', async () => {
        const request = claim({ will: will() });
        await store.claim(request);
        const first = await store.release({ ...request, hasWill: true, serialized: true });
        expect(first).toMatchObject({ outcome: 'released', will: { action: 'publish', will: will() }, willHeld: true });
        expect(await store.release({ ...request, hasWill: true, serialized: true })).toEqual(first);
        await store.settleWill(request);
        expect(await store.release({ ...request, hasWill: true, serialized: true })).toMatchObject({ outcome: 'released', will: { action: 'none' }, willHeld: false });
      });

      it('a held will is not handed out to a claim that resumes the session, but still to the rerun', async () => {
        const request = claim({ will: will() });
        await store.claim(request);
        const { sessionEpoch } = (await store.get(request.clientId)) ?? {};
        await store.release({ ...request, hasWill: true, sessionEpoch });
        const next = later(request);
        expect((await store.claim(next)).previousWill).toBeUndefined();
        time.advanceSeconds(HELD_WILL_LEASE_MS / 1000);
        expect(await store.release({ ...request, hasWill: true, sessionEpoch })).toMatchObject({ outcome: 'released', will: { action: 'publish', will: will() }, sessionEnded: false });
        await store.settleWill(request);
        expect(await store.release(request)).toEqual({ outcome: 'not-owner' });
        expect((await store.get(request.clientId))?.connectionId).toBe(next.connectionId);
      });

      it('[MQTT-3.1.3-9] after the first run deferred a delayed will, a rerun hands out nothing and leaves it due', async () => {
        const delayed = will('t', { properties: { willDelayInterval: 30 } });
        const request = claim({ will: delayed });
        await store.claim(request);
        const first = await store.release({ ...request, hasWill: true });
        expect(first).toMatchObject({ will: { action: 'deferred', dueAt: time.nowMs + 30_000 } });
        expect(await store.release({ ...request, hasWill: true })).toMatchObject({ outcome: 'released', will: { action: 'none' }, willHeld: false });
        expect((await store.get(request.clientId))?.willDueAt).toBe(time.nowMs + 30_000);
      });

      it('a session that ended at release is still reported ended', async () => {
        const request = claim({ sessionExpiryInterval: 0 });
        await store.claim(request);
        expect(await store.release(request)).toMatchObject({ outcome: 'released', sessionEnded: true });
        expect(await store.release(request)).toMatchObject({ outcome: 'released', sessionEnded: true });
      });

      it('a connection that was taken over while online has nothing to release', async () => {
        const request = claim({ will: will() });
        await store.claim(request);
        await store.claim(later(request));
        expect(await store.release({ ...request, hasWill: true })).toEqual({ outcome: 'not-owner' });
      });
    });

    describe('a will held for a connection taken over while its close was queued (ordered ingress)', () => {
      /** A takeover whose previous connection's will is handed out, then held for that connection. */
      async function takenOver() {
        const earlier = claim({ will: will('previous') });
        await store.claim(earlier);
        const request = later(earlier, { will: will('mine') });
        const { previousWill } = await store.claim(request);
        expect(previousWill).toEqual(will('previous'));
        return { earlier, request, previousWill: previousWill as Will };
      }

      it('[MQTT-3.1.2-8] its close without DISCONNECT gets the will from release (or heldWill); settled, it is gone', async () => {
        const { earlier, previousWill } = await takenOver();
        expect(await store.holdWill(earlier, previousWill)).toBe('held');
        expect(await store.holdWill(earlier, previousWill)).toBe('held'); // idempotent
        expect(await store.heldWill(earlier)).toEqual(will('previous'));
        expect(await store.release({ ...earlier, hasWill: true, serialized: true })).toMatchObject({
          outcome: 'released',
          will: { action: 'publish', will: will('previous') },
        });
        await store.settleWill(earlier);
        expect(await store.heldWill(earlier)).toBeUndefined();
        expect(await store.release({ ...earlier, hasWill: true, serialized: true })).toEqual({ outcome: 'not-owner' });
      });

      it('[MQTT-3.1.2-10] its DISCONNECT discards the held will, and a hold after the DISCONNECT holds nothing', async () => {
        const first = await takenOver();
        await store.holdWill(first.earlier, first.previousWill);
        expect(await store.discardWill(first.earlier)).toBe('not-owner');
        expect(await store.heldWill(first.earlier)).toBeUndefined();
        expect(await store.release({ ...first.earlier, hasWill: true, serialized: true })).toEqual({ outcome: 'not-owner' });
        // The DISCONNECT handled between the claim and the hold.
        const second = await takenOver();
        await store.discardWill(second.earlier);
        expect(await store.holdWill(second.earlier, second.previousWill)).toBe('discarded');
        expect(await store.heldWill(second.earlier)).toBeUndefined();
        // The session that took over keeps its own will.
        expect((await store.get(second.request.clientId))?.will).toEqual(will('mine'));
      });

      it('holds nothing for a session that does not exist', async () => {
        expect(await store.holdWill({ clientId: `client-${randomUUID()}`, connectionId: 'conn-x' }, will())).toBe('no-session');
      });
    });

    describe('a due will taken by a sweeper that died', () => {
      const delayed = () => will('w', { properties: { willDelayInterval: 1 } });
      const offline = async () => {
        const request = claim({ will: delayed() });
        await store.claim(request);
        await store.release(request);
        return request;
      };

      it('[MQTT-3.1.3-9] falls due again after the lease unless settled, and is then taken again', async () => {
        const request = await offline();
        const due = time.nowMs + 1000;
        expect(await store.takeDueWill(request.clientId, due)).toEqual(delayed());
        expect(await store.takeDueWill(request.clientId, due)).toBeUndefined();
        expect((await store.dueWills({ now: due, limit: 100 })).map((d) => d.clientId)).not.toContain(request.clientId);
        const later = due + DUE_WILL_LEASE_MS;
        expect((await store.dueWills({ now: later, limit: 100 })).map((d) => d.clientId)).toContain(request.clientId);
        expect(await store.takeDueWill(request.clientId, later)).toEqual(delayed());
        await store.settleDueWill(request.clientId);
        await store.settleDueWill(request.clientId);
        expect(await store.takeDueWill(request.clientId, later + DUE_WILL_LEASE_MS)).toBeUndefined();
        expect((await store.get(request.clientId))?.willDueAt).toBeUndefined();
      });

      it('is not handed out again by a claim while a sweeper publishes it', async () => {
        const request = await offline();
        time.advanceSeconds(1);
        expect(await store.takeDueWill(request.clientId, time.nowMs)).toEqual(delayed());
        expect((await store.claim(later(request))).previousWill).toBeUndefined();
        expect(await store.takeDueWill(request.clientId, time.nowMs + DUE_WILL_LEASE_MS)).toBeUndefined();
      });
    });

    describe('abandon: a CONNECT that failed after its claim', () => {
      it('leaves a resumed session offline and resumable, without the failed CONNECT\'s will, even with expiry 0', async () => {
        const earlier = claim();
        const { sessionEpoch } = await store.claim(earlier);
        await store.release(earlier);
        const failed = later(earlier, { will: will('never-accepted'), sessionExpiryInterval: 0 });
        await store.claim(failed);
        expect(await store.abandon({ clientId: failed.clientId, connectionId: failed.connectionId, created: false })).toBe('updated');
        const left = await store.get(failed.clientId);
        expect(left?.connectionId).toBeUndefined();
        expect(left?.will).toBeUndefined();
        time.advanceSeconds(10 * 60);
        expect(await store.claim(later(failed))).toEqual({ sessionPresent: true, sessionEpoch });
      });

      it('the rerun of the abandoned CONNECT claims again and answers as the first run', async () => {
        const request = claim({ hint: 'absent' });
        const first = await store.claim(request);
        await store.abandon({ clientId: request.clientId, connectionId: request.connectionId, created: true });
        expect(await store.claim(request)).toEqual(first);
        expect((await store.get(request.clientId))?.connectionId).toBe(request.connectionId);
      });

      it('makes the previous owner\'s will that the CONNECT did not publish due at once', async () => {
        const earlier = claim({ will: will('previous') });
        await store.claim(earlier);
        const failed = later(earlier);
        expect((await store.claim(failed)).previousWill).toEqual(will('previous'));
        await store.abandon({ clientId: failed.clientId, connectionId: failed.connectionId, created: false, pendingWill: will('previous') });
        expect((await store.dueWills({ now: time.nowMs, limit: 100 })).map((d) => d.clientId)).toContain(failed.clientId);
        expect((await store.claim(later(failed))).previousWill).toEqual(will('previous'));
        expect(await store.takeDueWill(failed.clientId, time.nowMs)).toBeUndefined();
      });

      it('is refused to a connection that does not own the session', async () => {
        const request = claim();
        await store.claim(request);
        expect(await store.abandon({ clientId: request.clientId, connectionId: 'someone-else', created: false })).toBe('not-owner');
        expect((await store.get(request.clientId))?.connectionId).toBe(request.connectionId);
      });
    });
  });
}
