/**
 * The MessageStore contract: every adapter passes these tests. Run by
 * test/unit/store/memory-message-store.test.ts and
 * test/integration/store/dynamodb-message-store.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../../lib/mqtt/types';
import type { Clock } from '../../../lib/store/clock';
import { messageTtlSeconds, type InflightMessage, type MessageStore, type OutboundMessage, type Reservation } from '../../../lib/store/message-port';
import { ManualClock } from './connection-store.contract';

export interface MessageStoreFactoryOptions {
  /** The first packet id proposed for a new client (for the wrap-around test) */
  firstPacketId?: number;
  /** The TTL of the items, seconds (default: the adapter's) */
  ttlSeconds?: number;
}

export type MessageStoreFactory = (
  clock: Clock,
  options?: MessageStoreFactoryOptions,
) => MessageStore | Promise<MessageStore>;

const EPOCH = '000001700000000/conn-a';
const OTHER_EPOCH = '000001700000999/conn-b';

export function publish(topic: string, overrides: Partial<PublishPacket> = {}): PublishPacket {
  return { type: 'publish', topic, payload: new TextEncoder().encode(topic), qos: 1, retain: false, dup: false, ...overrides };
}

export function message(topic: string, messageExpiresAt: number | null = null): OutboundMessage {
  return { packet: publish(topic), messageExpiresAt };
}

function reserved(r: Reservation): { packetId: number; sequence: number } {
  if (r.outcome !== 'reserved') throw new Error(`expected a reservation, got ${r.outcome}`);
  return r;
}

export function messageStoreContract(adapter: string, makeStore: MessageStoreFactory): void {
  describe(`MessageStore contract: ${adapter}`, () => {
    let time: ManualClock;
    let store: MessageStore;
    let client: string;

    beforeEach(async () => {
      time = new ManualClock();
      store = await makeStore(time.clock);
      client = `client-${randomUUID()}`;
    });

    const inflightOf = (r: { packetId: number; sequence: number }, topic: string): InflightMessage => ({
      ...message(topic),
      packetId: r.packetId,
      sequence: r.sequence,
      stage: 'publish',
    });

    describe('packet ids and the window', () => {
      it('hands out unique packet ids in 1..65535 with increasing sequence [MQTT-2.2.1-4]', async () => {
        const got = [];
        for (let i = 0; i < 12; i++) got.push(reserved(await store.reserve(client, EPOCH, 100)));
        const ids = got.map((r) => r.packetId);
        expect(new Set(ids).size).toBe(12);
        for (const id of ids) expect(id >= 1 && id <= 65535).toBe(true);
        const sequences = got.map((r) => r.sequence);
        expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
        expect(new Set(sequences).size).toBe(12);
      });

      it('wraps from 65535 to 1, never handing out 0', async () => {
        store = await makeStore(time.clock, { firstPacketId: 65534 });
        const ids = [];
        for (let i = 0; i < 4; i++) {
          const r = reserved(await store.reserve(client, EPOCH, 10));
          ids.push(r.packetId);
          await store.complete(client, EPOCH, r.packetId);
        }
        expect(ids).toEqual([65534, 65535, 1, 2]);
      });

      it('refuses the reservation past Receive Maximum until a complete() [MQTT-3.3.4-9]', async () => {
        const ids = [];
        for (let i = 0; i < 3; i++) ids.push(reserved(await store.reserve(client, EPOCH, 3)).packetId);
        expect(await store.reserve(client, EPOCH, 3)).toEqual({ outcome: 'window-full' });
        await store.complete(client, EPOCH, ids[1] as number);
        const again = reserved(await store.reserve(client, EPOCH, 3));
        expect(ids).not.toContain(again.packetId);
        expect(await store.reserve(client, EPOCH, 3)).toEqual({ outcome: 'window-full' });
      });

      it('complete() reports how many messages are queued, and 0 for a duplicate', async () => {
        const a = reserved(await store.reserve(client, EPOCH, 1));
        expect(await store.enqueue(client, EPOCH, message('t/1'), 10)).toMatchObject({ outcome: 'queued' });
        expect(await store.enqueue(client, EPOCH, message('t/2'), 10)).toMatchObject({ outcome: 'queued' });
        expect(await store.complete(client, EPOCH, a.packetId, { stored: false })).toEqual({ queued: 2 });
        expect(await store.complete(client, EPOCH, a.packetId, { stored: false })).toEqual({ queued: 0 });
      });

      it('frees one slot only for a duplicate complete()', async () => {
        const a = reserved(await store.reserve(client, EPOCH, 2));
        reserved(await store.reserve(client, EPOCH, 2));
        await store.complete(client, EPOCH, a.packetId);
        await store.complete(client, EPOCH, a.packetId);
        reserved(await store.reserve(client, EPOCH, 2));
        expect(await store.reserve(client, EPOCH, 2)).toEqual({ outcome: 'window-full' });
      });

      it('frees one slot only for concurrent duplicate complete() calls', async () => {
        const a = reserved(await store.reserve(client, EPOCH, 2));
        reserved(await store.reserve(client, EPOCH, 2));
        await Promise.all([1, 2, 3].map(() => store.complete(client, EPOCH, a.packetId)));
        reserved(await store.reserve(client, EPOCH, 2));
        expect(await store.reserve(client, EPOCH, 2)).toEqual({ outcome: 'window-full' });
      });

      it('ignores complete() for a packet id never reserved', async () => {
        const a = reserved(await store.reserve(client, EPOCH, 1));
        await store.complete(client, EPOCH, a.packetId === 9 ? 10 : 9);
        expect(await store.reserve(client, EPOCH, 1)).toEqual({ outcome: 'window-full' });
      });

      it('never exceeds the window under concurrent reservations', async () => {
        const results = await Promise.all(Array.from({ length: 8 }, () => store.reserve(client, EPOCH, 5)));
        const ok = results.filter((r) => r.outcome === 'reserved');
        expect(ok).toHaveLength(5);
        expect(new Set(ok.map((r) => reserved(r).packetId)).size).toBe(5);
      });
    });

    describe('messages in flight', () => {
      it('completes without a stored in-flight message (clean session)', async () => {
        const a = reserved(await store.reserve(client, EPOCH, 1));
        await store.complete(client, EPOCH, a.packetId);
        reserved(await store.reserve(client, EPOCH, 1));
        expect(await store.inflight(client, EPOCH)).toEqual([]);
      });

      it('lists messages in flight by sequence, and forgets completed ones [MQTT-4.4.0-1]', async () => {
        const rs = [];
        for (let i = 0; i < 3; i++) rs.push(reserved(await store.reserve(client, EPOCH, 10)));
        // stored out of order
        for (const i of [2, 0, 1]) await store.putInflight(client, EPOCH, inflightOf(rs[i]!, `t/${i}`));
        expect((await store.inflight(client, EPOCH)).map((m) => m.packet.topic)).toEqual(['t/0', 't/1', 't/2']);
        await store.complete(client, EPOCH, rs[1]!.packetId);
        const left = await store.inflight(client, EPOCH);
        expect(left).toEqual([inflightOf(rs[0]!, 't/0'), inflightOf(rs[2]!, 't/2')]);
      });

      it('moves a QoS 2 message to the PUBREL stage, then completes it', async () => {
        const r = reserved(await store.reserve(client, EPOCH, 1));
        await store.putInflight(client, EPOCH, { ...inflightOf(r, 'q2'), packet: publish('q2', { qos: 2 }) });
        await store.released(client, EPOCH, r.packetId);
        const [m] = await store.inflight(client, EPOCH);
        expect(m).toMatchObject({ packetId: r.packetId, stage: 'pubrel', sequence: r.sequence });
        expect(await store.reserve(client, EPOCH, 1)).toEqual({ outcome: 'window-full' });
        await store.complete(client, EPOCH, r.packetId);
        expect(await store.inflight(client, EPOCH)).toEqual([]);
        reserved(await store.reserve(client, EPOCH, 1));
      });

      it('ignores released() for a packet id without a stored message', async () => {
        await store.released(client, EPOCH, 42);
        expect(await store.inflight(client, EPOCH)).toEqual([]);
      });

      it('gives back a slot whose message was never stored, once no reserving invocation can still store it [MQTT-3.3.4-9]', async () => {
        // A failure between reserve and putInflight (issue 13, defect 5): the slot must not leak.
        reserved(await store.reserve(client, EPOCH, 1));
        expect(await store.inflight(client, EPOCH)).toEqual([]);
        expect(await store.reserve(client, EPOCH, 1)).toEqual({ outcome: 'window-full' }); // it may still be stored
        time.advanceSeconds(17 * 60);
        expect(await store.inflight(client, EPOCH)).toEqual([]);
        reserved(await store.reserve(client, EPOCH, 1));
      });

      it('names a reservation not stored yet as unstored, until its message is stored or its slot is given back [MQTT-4.4.0-1]', async () => {
        // A resume's read between a live copy's reserve and its putInflight (lib/runtime/effects/resume.ts, late copies).
        const stored = reserved(await store.reserve(client, EPOCH, 3));
        await store.putInflight(client, EPOCH, inflightOf(stored, 'stored'));
        const late = reserved(await store.reserve(client, EPOCH, 3));
        expect(await store.readWindow(client, EPOCH)).toEqual({ messages: [inflightOf(stored, 'stored')], unstored: [late.packetId] });
        await store.putInflight(client, EPOCH, inflightOf(late, 'late'));
        expect(await store.readWindow(client, EPOCH)).toEqual({ messages: [inflightOf(stored, 'stored'), inflightOf(late, 'late')], unstored: [] });
        const dead = reserved(await store.reserve(client, EPOCH, 3));
        expect((await store.readWindow(client, EPOCH)).unstored).toEqual([dead.packetId]);
        time.advanceSeconds(17 * 60);
        expect((await store.readWindow(client, EPOCH)).unstored).toEqual([]); // no invocation can still store it
        expect(await store.readWindow(client, 'another-epoch')).toEqual({ messages: [], unstored: [] });
      });

      it('keeps the slot of a stored message however old [MQTT-4.4.0-1]', async () => {
        const r = reserved(await store.reserve(client, EPOCH, 1));
        await store.putInflight(client, EPOCH, inflightOf(r, 'kept'));
        time.advanceSeconds(3600);
        expect(await store.inflight(client, EPOCH)).toEqual([inflightOf(r, 'kept')]);
        expect(await store.reserve(client, EPOCH, 1)).toEqual({ outcome: 'window-full' });
      });

      it('stores the packet without packet id and with DUP 0', async () => {
        const r = reserved(await store.reserve(client, EPOCH, 1));
        const m = inflightOf(r, 'dup');
        await store.putInflight(client, EPOCH, { ...m, packet: { ...m.packet, packetId: r.packetId, dup: true } });
        const [stored] = await store.inflight(client, EPOCH);
        expect(stored?.packet).toEqual(publish('dup'));
        expect(stored?.packet).not.toHaveProperty('packetId');
      });
    });

    describe('offline queue', () => {
      it("queues up to maxQueued, then reports 'full'", async () => {
        for (let i = 0; i < 3; i++) expect(await store.enqueue(client, EPOCH, message(`q/${i}`), 3)).toMatchObject({ outcome: 'queued' });
        expect(await store.enqueue(client, EPOCH, message('q/3'), 3)).toEqual({ outcome: 'full' });
        expect(await store.takeQueued(client, EPOCH, 1)).toHaveLength(1);
        expect(await store.enqueue(client, EPOCH, message('q/4'), 3)).toMatchObject({ outcome: 'queued' });
        expect(await store.enqueue(client, EPOCH, message('q/5'), 3)).toEqual({ outcome: 'full' });
      });

      it('queues once when one enqueue is run again with the same request token (a retried delivery step)', async () => {
        await store.enqueue(client, EPOCH, message('q/0'), 2, { requestToken: 'copy-1' });
        expect(await store.enqueue(client, EPOCH, message('q/0'), 2, { requestToken: 'copy-1' })).toMatchObject({ outcome: 'queued' });
        expect(await store.enqueue(client, EPOCH, message('q/1'), 2, { requestToken: 'copy-2' })).toMatchObject({ outcome: 'queued' });
        expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['q/0', 'q/1']);
      });

      it('queues once when one enqueue is run again with its token after other writes to the window (a reservation, an ack)', async () => {
        await store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1' });
        const r = reserved(await store.reserve(client, EPOCH, 10));
        await store.complete(client, EPOCH, r.packetId);
        expect(await store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1' })).toMatchObject({ outcome: 'queued' });
        expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['q/0']);
      });

      it('queues once when one enqueue is run again with its slot after another enqueue came in between', async () => {
        const slot = {};
        await store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1', slot });
        await store.enqueue(client, EPOCH, message('q/1'), 10, { requestToken: 'copy-2' });
        expect(await store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1', slot })).toMatchObject({ outcome: 'queued' });
        expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['q/0', 'q/1']);
      });

      it('does not queue again a message a drain took, when its enqueue is run again with its token', async () => {
        await store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1' });
        const r = reserved(await store.reserve(client, EPOCH, 10));
        expect((await store.dequeue(client, EPOCH, { ...r, keep: true }))?.packet.topic).toBe('q/0');
        expect(await store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1' })).toMatchObject({ outcome: 'queued' });
        expect(await store.takeQueued(client, EPOCH, 10)).toEqual([]);
        await store.enqueue(client, EPOCH, message('q/1'), 10, { requestToken: 'copy-2' });
        expect(await store.takeQueued(client, EPOCH, 10)).toHaveLength(1);
        expect(await store.enqueue(client, EPOCH, message('q/1'), 10, { requestToken: 'copy-2' })).toMatchObject({ outcome: 'queued' });
        expect(await store.takeQueued(client, EPOCH, 10)).toEqual([]);
      });

      it('takes oldest first, each message once', async () => {
        for (let i = 0; i < 5; i++) await store.enqueue(client, EPOCH, message(`q/${i}`), 100);
        const first = await store.takeQueued(client, EPOCH, 2);
        const rest = await store.takeQueued(client, EPOCH, 10);
        expect(first.map((m) => m.packet.topic)).toEqual(['q/0', 'q/1']);
        expect(rest.map((m) => m.packet.topic)).toEqual(['q/2', 'q/3', 'q/4']);
        expect(rest.map((m) => m.sequence)).toEqual([...rest.map((m) => m.sequence)].sort((a, b) => a - b));
        expect(await store.takeQueued(client, EPOCH, 10)).toEqual([]);
      });

      it('gives each message to one of two concurrent takers', async () => {
        for (let i = 0; i < 6; i++) await store.enqueue(client, EPOCH, message(`q/${i}`), 100);
        const [a, b] = await Promise.all([store.takeQueued(client, EPOCH, 6), store.takeQueued(client, EPOCH, 6)]);
        const topics = [...a!, ...b!].map((m) => m.packet.topic).sort();
        expect(topics).toEqual(['q/0', 'q/1', 'q/2', 'q/3', 'q/4', 'q/5']);
        for (const taken of [a!, b!]) {
          const seq = taken.map((m) => m.sequence);
          expect(seq).toEqual([...seq].sort((x, y) => x - y));
        }
      });

      it('drops expired messages on take and frees their slots [MQTT-3.3.2-5]', async () => {
        await store.enqueue(client, EPOCH, message('keep/0'), 3);
        await store.enqueue(client, EPOCH, message('expires', time.nowMs + 5_000), 3);
        await store.enqueue(client, EPOCH, message('keep/1', time.nowMs + 60_000), 3);
        time.advanceSeconds(10);
        const taken = await store.takeQueued(client, EPOCH, 10);
        expect(taken.map((m) => m.packet.topic)).toEqual(['keep/0', 'keep/1']);
        expect(taken[1]?.messageExpiresAt).toBe(time.nowMs - 10_000 + 60_000);
        for (let i = 0; i < 3; i++) expect(await store.enqueue(client, EPOCH, message(`q/${i}`), 3)).toMatchObject({ outcome: 'queued' });
      });

      it('dequeue moves the oldest message in flight under the reservation; a rerun answers the same one [MQTT-4.4.0-1]', async () => {
        await store.enqueue(client, EPOCH, message('q/0'), 10);
        await store.enqueue(client, EPOCH, message('q/1'), 10);
        const r = reserved(await store.reserve(client, EPOCH, 10));
        expect((await store.dequeue(client, EPOCH, { ...r, keep: true }))?.packet.topic).toBe('q/0');
        expect((await store.dequeue(client, EPOCH, { ...r, keep: true }))?.packet.topic).toBe('q/0');
        expect(await store.inflight(client, EPOCH)).toEqual([inflightOf(r, 'q/0')]);
        const next = reserved(await store.reserve(client, EPOCH, 10));
        expect((await store.dequeue(client, EPOCH, { ...next, keep: false }))?.packet.topic).toBe('q/1');
        expect(await store.inflight(client, EPOCH)).toEqual([inflightOf(r, 'q/0')]); // a clean session keeps no copy
        expect(await store.dequeue(client, EPOCH, { ...reserved(await store.reserve(client, EPOCH, 10)), keep: true })).toBeUndefined();
        expect(await store.enqueue(client, EPOCH, message('q/2'), 1)).toMatchObject({ outcome: 'queued' }); // slots given back
      });

      it('dequeue rerun (after an attempt that may have been applied) answers the held message, even from an empty queue [MQTT-4.4.0-1]', async () => {
        await store.enqueue(client, EPOCH, message('only'), 10);
        const r = reserved(await store.reserve(client, EPOCH, 10));
        expect((await store.dequeue(client, EPOCH, { ...r, keep: true }))?.packet.topic).toBe('only');
        expect((await store.dequeue(client, EPOCH, { ...r, keep: true, rerun: true }))?.packet.topic).toBe('only');
        const other = reserved(await store.reserve(client, EPOCH, 10));
        expect(await store.dequeue(client, EPOCH, { ...other, keep: true, rerun: true })).toBeUndefined();
      });

      it('dequeue skips messages whose Message Expiry Interval passed in the queue [MQTT-3.3.2-5]', async () => {
        await store.enqueue(client, EPOCH, message('expires', time.nowMs + 5_000), 3);
        await store.enqueue(client, EPOCH, message('keep', time.nowMs + 60_000), 3);
        time.advanceSeconds(10);
        const r = reserved(await store.reserve(client, EPOCH, 10));
        const taken = await store.dequeue(client, EPOCH, { ...r, keep: true });
        expect(taken).toMatchObject({ packet: { topic: 'keep' }, messageExpiresAt: time.nowMs - 10_000 + 60_000 });
        expect((await store.inflight(client, EPOCH)).map((m) => m.packet.topic)).toEqual(['keep']);
        for (let i = 0; i < 3; i++) expect(await store.enqueue(client, EPOCH, message(`q/${i}`), 3)).toMatchObject({ outcome: 'queued' });
      });

      it('returns nothing for an empty queue', async () => {
        expect(await store.takeQueued(client, EPOCH, 5)).toEqual([]);
      });

      it('keeps a new message behind the queue: no reservation while older ones wait [MQTT-4.6.0-5]', async () => {
        expect(await store.reserve(client, EPOCH, 10, { behindQueue: true })).toMatchObject({ outcome: 'reserved' });
        await store.enqueue(client, EPOCH, message('q/old'), 10);
        expect(await store.reserve(client, EPOCH, 10, { behindQueue: true })).toEqual({ outcome: 'window-full' });
        // A drain reserves for the queue's head, which is what the queue is for.
        expect(await store.reserve(client, EPOCH, 10)).toMatchObject({ outcome: 'reserved' });
        expect((await store.takeQueued(client, EPOCH, 1)).map((m) => m.packet.topic)).toEqual(['q/old']);
        expect(await store.reserve(client, EPOCH, 10, { behindQueue: true })).toMatchObject({ outcome: 'reserved' });
      });
    });

    describe('the session gate (a resume sends its backlog before live copies)', () => {
      it('lets any connection through before a resume, and reports the gate with each enqueue', async () => {
        expect(await store.reserve(client, EPOCH, 10, { behindQueue: true, to: 'conn-a' })).toMatchObject({ outcome: 'reserved' });
        expect(await store.enqueue(client, EPOCH, message('q/1'), 10)).toEqual({ outcome: 'queued', gate: { state: 'none' } });
      });

      it('while held, refuses every reservation but the resume\'s own, and reports the queue [MQTT-4.4.0-1] [MQTT-4.6.0-5]', async () => {
        await store.enqueue(client, EPOCH, message('q/1'), 10);
        expect(await store.holdGate(client, EPOCH, 'conn-b')).toEqual({ queued: 1 });
        expect(await store.reserve(client, EPOCH, 10, { behindQueue: true, to: 'conn-b' })).toEqual({ outcome: 'window-full' });
        expect(await store.reserve(client, EPOCH, 10, { to: 'conn-a' })).toEqual({ outcome: 'window-full' });
        expect(await store.reserve(client, EPOCH, 10, { to: 'conn-a', resuming: true })).toEqual({ outcome: 'window-full' });
        expect(await store.enqueue(client, EPOCH, message('q/2'), 10)).toEqual({ outcome: 'queued', gate: { state: 'held', connectionId: 'conn-b' } });
        expect(await store.reserve(client, EPOCH, 10, { to: 'conn-b', resuming: true })).toMatchObject({ outcome: 'reserved' });
      });

      it('opens only to its holder and only once nothing waits while the window has room', async () => {
        await store.holdGate(client, EPOCH, 'conn-b');
        await store.enqueue(client, EPOCH, message('q/1'), 10);
        expect(await store.openGate(client, EPOCH, 'conn-a', 10)).toBe('lost');
        expect(await store.openGate(client, EPOCH, 'conn-b', 10)).toBe('queued');
        // A full window: an ack will drain the queue, so the gate may open.
        expect(await store.reserve(client, EPOCH, 1, { to: 'conn-b', resuming: true })).toMatchObject({ outcome: 'reserved' });
        expect(await store.openGate(client, EPOCH, 'conn-b', 1)).toBe('opened');
        expect(await store.openGate(client, EPOCH, 'conn-b', 10)).toBe('lost');
        expect(await store.enqueue(client, EPOCH, message('q/2'), 10)).toEqual({ outcome: 'queued', gate: { state: 'open', connectionId: 'conn-b' } });
      });

      it('once open, lets through its connection only, and the resume of a newer connection takes it', async () => {
        await store.holdGate(client, EPOCH, 'conn-b');
        expect(await store.openGate(client, EPOCH, 'conn-b', 10)).toBe('opened');
        expect(await store.reserve(client, EPOCH, 10, { behindQueue: true, to: 'conn-a' })).toEqual({ outcome: 'window-full' });
        expect(await store.reserve(client, EPOCH, 10, { behindQueue: true, to: 'conn-b' })).toMatchObject({ outcome: 'reserved' });
        await store.holdGate(client, EPOCH, 'conn-c');
        expect(await store.openGate(client, EPOCH, 'conn-b', 10, true)).toBe('lost');
        expect(await store.openGate(client, EPOCH, 'conn-c', 10)).toBe('opened');
      });

      it('closes with its connection only, and is held again by the next resume', async () => {
        await store.holdGate(client, EPOCH, 'conn-b');
        await store.openGate(client, EPOCH, 'conn-b', 10);
        await store.closeGate(client, EPOCH, 'conn-a');
        expect(await store.reserve(client, EPOCH, 10, { to: 'conn-b' })).toMatchObject({ outcome: 'reserved' });
        await store.closeGate(client, EPOCH, 'conn-b');
        await store.closeGate(client, EPOCH, 'conn-b');
        expect(await store.reserve(client, EPOCH, 10, { to: 'conn-b' })).toEqual({ outcome: 'window-full' });
        expect(await store.enqueue(client, EPOCH, message('q/1'), 10)).toEqual({ outcome: 'queued', gate: { state: 'closed' } });
        expect(await store.holdGate(client, EPOCH, 'conn-c')).toEqual({ queued: 1 });
        expect(await store.reserve(client, EPOCH, 10, { to: 'conn-c', resuming: true })).toMatchObject({ outcome: 'reserved' });
      });

      it('is none again in a new session (another epoch)', async () => {
        await store.holdGate(client, EPOCH, 'conn-b');
        expect(await store.reserve(client, OTHER_EPOCH, 10, { to: 'conn-z' })).toMatchObject({ outcome: 'reserved' });
        expect(await store.enqueue(client, OTHER_EPOCH, message('q/1'), 10)).toEqual({ outcome: 'queued', gate: { state: 'none' } });
      });
    });

    describe('inbound QoS 2', () => {
      it("records a packet id once: 'new', then 'duplicate' [MQTT-4.3.3-10]", async () => {
        expect(await store.receiveQos2(client, EPOCH, 7)).toBe('new');
        expect(await store.receiveQos2(client, EPOCH, 7)).toBe('duplicate');
        expect(await store.receiveQos2(client, EPOCH, 8)).toBe('new');
      });

      it("gives exactly one 'new' to concurrent receipts", async () => {
        const results = await Promise.all(Array.from({ length: 5 }, () => store.receiveQos2(client, EPOCH, 9)));
        expect(results.filter((r) => r === 'new')).toHaveLength(1);
        expect(results.filter((r) => r === 'duplicate')).toHaveLength(4);
      });

      it('a late PUBLISH from a superseded connection, after the PUBREL on the new one, is a duplicate [MQTT-4.3.3-10] [MQTT-4.3.3-12]', async () => {
        // Connection order stamps (lib/store/message-port.ts `connectionOrder`): a < b < c.
        const [a, b, c] = ['000001700000001/conn-a', '000001700000002/conn-b', '000001700000003/conn-c'];
        expect(await store.receiveQos2(client, EPOCH, 7, a)).toBe('new');
        expect(await store.receiveQos2(client, EPOCH, 7, b)).toBe('duplicate'); // the resend after the resume
        expect(await store.releaseQos2(client, EPOCH, 7, b)).toBe('released');
        expect(await store.receiveQos2(client, EPOCH, 7, a)).toBe('duplicate'); // the late original, not routed again
        expect(await store.releaseQos2(client, EPOCH, 7, a)).toBe('unknown');
        expect(await store.receiveQos2(client, EPOCH, 7, b)).toBe('new'); // a new message reusing the id [MQTT-4.3.3-12]
        expect(await store.releaseQos2(client, EPOCH, 7, b)).toBe('released');
        expect(await store.receiveQos2(client, EPOCH, 7, c)).toBe('new');
      });

      it("forgetQos2 undoes only the receipt its token wrote: the unrouted PUBLISH's resend is 'new' again [MQTT-4.3.3-10]", async () => {
        expect(await store.receiveQos2(client, EPOCH, 7, undefined, 'rq-1')).toBe('new');
        await store.forgetQos2(client, EPOCH, 7, 'rq-1');
        await store.forgetQos2(client, EPOCH, 7, 'rq-1'); // safe to repeat
        expect(await store.receiveQos2(client, EPOCH, 7, undefined, 'rq-2')).toBe('new');
        // Another write's receipt (the routed original of a resend) stays: the resend is a duplicate.
        await store.forgetQos2(client, EPOCH, 7, 'rq-3');
        expect(await store.receiveQos2(client, EPOCH, 7, undefined, 'rq-4')).toBe('duplicate');
        await store.forgetQos2(client, OTHER_EPOCH, 7, 'rq-2'); // another session's caller: nothing
        expect(await store.receiveQos2(client, EPOCH, 7)).toBe('duplicate');
      });

      it('forgetQos2 leaves a released receipt alone: a late PUBLISH of an older connection stays a duplicate [MQTT-4.3.3-10]', async () => {
        const [a, b] = ['000001700000001/conn-a', '000001700000002/conn-b'];
        expect(await store.receiveQos2(client, EPOCH, 7, b, 'rq-1')).toBe('new');
        expect(await store.releaseQos2(client, EPOCH, 7, b)).toBe('released');
        await store.forgetQos2(client, EPOCH, 7, 'rq-1');
        expect(await store.receiveQos2(client, EPOCH, 7, a)).toBe('duplicate');
      });

      it("releases a recorded id, then reports 'unknown'", async () => {
        await store.receiveQos2(client, EPOCH, 11);
        expect(await store.releaseQos2(client, EPOCH, 11)).toBe('released');
        expect(await store.releaseQos2(client, EPOCH, 11)).toBe('unknown');
        expect(await store.releaseQos2(client, EPOCH, 12)).toBe('unknown');
        expect(await store.receiveQos2(client, EPOCH, 11)).toBe('new');
      });
    });

    describe('session epochs', () => {
      it('starts over on another epoch: window, in flight, queue and receipts', async () => {
        const r = reserved(await store.reserve(client, EPOCH, 1));
        await store.putInflight(client, EPOCH, inflightOf(r, 'old'));
        await store.enqueue(client, EPOCH, message('old/q'), 1);
        await store.receiveQos2(client, EPOCH, 5);
        expect(await store.reserve(client, EPOCH, 1)).toEqual({ outcome: 'window-full' });

        reserved(await store.reserve(client, OTHER_EPOCH, 1));
        expect(await store.inflight(client, OTHER_EPOCH)).toEqual([]);
        expect(await store.inflight(client, EPOCH)).toEqual([]);
        expect(await store.enqueue(client, OTHER_EPOCH, message('new/q'), 1)).toMatchObject({ outcome: 'queued' });
        expect((await store.takeQueued(client, OTHER_EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['new/q']);
        expect(await store.receiveQos2(client, OTHER_EPOCH, 5)).toBe('new');
      });

      it('lets a caller with an older (stale) epoch change nothing of a newer session', async () => {
        const r = reserved(await store.reserve(client, OTHER_EPOCH, 2));
        await store.putInflight(client, OTHER_EPOCH, inflightOf(r, 'new'));
        await store.enqueue(client, OTHER_EPOCH, message('new/q'), 2);
        await store.receiveQos2(client, OTHER_EPOCH, 5);

        expect(await store.reserve(client, EPOCH, 2)).toEqual({ outcome: 'window-full' });
        expect(await store.enqueue(client, EPOCH, message('stale/q'), 2)).toEqual({ outcome: 'full' });
        await store.putInflight(client, EPOCH, inflightOf(r, 'stale'));
        expect(await store.takeQueued(client, EPOCH, 10)).toEqual([]);
        expect(await store.receiveQos2(client, EPOCH, 5)).toBe('duplicate');
        expect(await store.releaseQos2(client, EPOCH, 5)).toBe('unknown');

        expect(await store.inflight(client, OTHER_EPOCH)).toEqual([inflightOf(r, 'new')]);
        expect((await store.takeQueued(client, OTHER_EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['new/q']);
        expect(await store.releaseQos2(client, OTHER_EPOCH, 5)).toBe('released');
        reserved(await store.reserve(client, OTHER_EPOCH, 2));
      });

      it('ignores complete() and releaseQos2() of another epoch', async () => {
        const r = reserved(await store.reserve(client, EPOCH, 1));
        await store.receiveQos2(client, EPOCH, 5);
        await store.complete(client, OTHER_EPOCH, r.packetId);
        expect(await store.reserve(client, EPOCH, 1)).toEqual({ outcome: 'window-full' });
        expect(await store.releaseQos2(client, OTHER_EPOCH, 5)).toBe('unknown');
      });
    });

    describe('TTL (issue 13, defect 7)', () => {
      it('keeps queue, in flight and receipts for the longest session the broker grants by default: 7 days after 2 h online [MQTT-3.1.2-23]', async () => {
        const r = reserved(await store.reserve(client, EPOCH, 10));
        await store.putInflight(client, EPOCH, inflightOf(r, 'in-flight'));
        await store.enqueue(client, EPOCH, message('queued'), 10);
        expect(await store.receiveQos2(client, EPOCH, 5)).toBe('new');
        // Online for API Gateway's 2 hours, then offline for the 7-day Session Expiry Interval.
        time.advanceSeconds(2 * 3600 + 7 * 24 * 3600 - 60);
        expect((await store.inflight(client, EPOCH)).map((m) => m.packet.topic)).toEqual(['in-flight']);
        expect(await store.receiveQos2(client, EPOCH, 5)).toBe('duplicate'); // not routed again
        expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['queued']);
      });

      it('keeps them as long as a longer configured maximum session expiry (messageTtlSeconds) [MQTT-3.1.2-23]', async () => {
        store = await makeStore(time.clock, { ttlSeconds: messageTtlSeconds(90 * 24 * 3600) });
        await store.enqueue(client, EPOCH, message('queued'), 10);
        expect(await store.receiveQos2(client, EPOCH, 5)).toBe('new');
        time.advanceSeconds(60 * 24 * 3600);
        expect(await store.receiveQos2(client, EPOCH, 5)).toBe('duplicate');
        expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['queued']);
      });
    });

    describe('deleteAll', () => {
      it('removes everything of the client and nothing of others', async () => {
        const other = `client-${randomUUID()}`;
        for (const c of [client, other]) {
          const r = reserved(await store.reserve(c, EPOCH, 1));
          await store.putInflight(c, EPOCH, inflightOf(r, 'x'));
          await store.enqueue(c, EPOCH, message('q'), 1);
          await store.receiveQos2(c, EPOCH, 3);
        }
        await store.deleteAll(client, { through: EPOCH });
        expect(await store.inflight(client, EPOCH)).toEqual([]);
        expect(await store.takeQueued(client, EPOCH, 10)).toEqual([]);
        expect(await store.receiveQos2(client, EPOCH, 3)).toBe('new');
        reserved(await store.reserve(client, EPOCH, 1));
        expect(await store.inflight(other, EPOCH)).toHaveLength(1);
        expect(await store.receiveQos2(other, EPOCH, 3)).toBe('duplicate');
      });

      it('handles more items than one batch', async () => {
        for (let i = 0; i < 30; i++) await store.enqueue(client, EPOCH, message(`q/${i}`), 100);
        await store.deleteAll(client, { through: EPOCH });
        expect(await store.takeQueued(client, EPOCH, 100)).toEqual([]);
        await store.deleteAll(client, { through: EPOCH }); // nothing left: a no-op
      });

      it('deletes only the epochs in scope: an old session\'s late end leaves the newer session\'s window, in flight, queue and receipts [MQTT-3.1.2-4]', async () => {
        const old = '000001600000000/conn-z'; // claimed before EPOCH
        const r0 = reserved(await store.reserve(client, old, 5));
        await store.putInflight(client, old, inflightOf(r0, 'old'));
        // A clean start replaces it (EPOCH): its own state.
        const r1 = reserved(await store.reserve(client, EPOCH, 5));
        await store.putInflight(client, EPOCH, inflightOf(r1, 'new'));
        await store.enqueue(client, EPOCH, message('q'), 5);
        expect(await store.receiveQos2(client, EPOCH, 9)).toBe('new');
        // The old connection's disconnect path, late or rerun: its session ended through `old`.
        await store.deleteAll(client, { through: old });
        expect(await store.inflight(client, EPOCH)).toEqual([inflightOf(r1, 'new')]);
        expect(await store.receiveQos2(client, EPOCH, 9)).toBe('duplicate');
        expect((await store.takeQueued(client, EPOCH, 10)).map((m) => new TextDecoder().decode(m.packet.payload))).toEqual(['q']);
        // A clean start of EPOCH deletes only what is older.
        await store.deleteAll(client, { before: EPOCH });
        expect(await store.inflight(client, EPOCH)).toEqual([inflightOf(r1, 'new')]);
      });
    });

    describe('round trip', () => {
      it('keeps payload bytes and v5 properties exactly [MQTT-3.3.2-18]', async () => {
        const packet = publish('rt/1', {
          qos: 2,
          retain: true,
          payload: new Uint8Array([0, 255, 1, 254, 0x80, 0]),
          properties: {
            payloadFormatIndicator: 0,
            messageExpiryInterval: 120,
            contentType: 'application/octet-stream',
            responseTopic: 'reply/here',
            correlationData: new Uint8Array([0, 255, 1]),
            subscriptionIdentifiers: [3, 70000],
            userProperties: [
              ['b', '2'],
              ['a', '1'],
              ['b', '1'],
            ],
          },
        });
        const r = reserved(await store.reserve(client, EPOCH, 1));
        const expiresAt = time.nowMs + 120_000;
        const inflight: InflightMessage = { packet, messageExpiresAt: expiresAt, packetId: r.packetId, stage: 'publish', sequence: r.sequence };
        await store.putInflight(client, EPOCH, inflight);
        await store.enqueue(client, EPOCH, { packet, messageExpiresAt: expiresAt }, 1);
        const [got] = await store.inflight(client, EPOCH);
        const [queued] = await store.takeQueued(client, EPOCH, 1);
        expect(got).toEqual(inflight);
        expect(got?.packet.payload).toBeInstanceOf(Uint8Array);
        expect(got?.packet.properties?.correlationData).toBeInstanceOf(Uint8Array);
        expect(queued).toEqual({ packet, messageExpiresAt: expiresAt, sequence: queued?.sequence });
      });

      it('keeps an empty payload and a packet without properties', async () => {
        const packet = publish('rt/2', { payload: new Uint8Array(0), qos: 0 });
        await store.enqueue(client, EPOCH, { packet, messageExpiresAt: null }, 1);
        const [queued] = await store.takeQueued(client, EPOCH, 1);
        expect(queued?.packet).toEqual(packet);
        expect(queued?.packet).not.toHaveProperty('properties');
        expect(queued?.messageExpiresAt).toBeNull();
      });
    });
  });
}
