/**
 * The RetainedStore contract: every adapter passes these tests. Run by
 * test/unit/store/memory-retained-store.test.ts and
 * test/integration/store/dynamodb-retained-store.test.ts.
 *
 * The DynamoDB adapter's table is shared by the tests of a file, so every test writes under its
 * own first level (`root`) and, for filters with a wildcard first level, looks only at its topics.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../lib/store/clock';
import type { RetainedRecord, RetainedStore } from '../../../lib/store/retained-port';
import { ManualClock } from './connection-store.contract';

export type RetainedStoreFactory = (clock: Clock) => RetainedStore | Promise<RetainedStore>;

export function retainedStoreContract(adapter: string, makeStore: RetainedStoreFactory): void {
  describe(`RetainedStore contract: ${adapter}`, () => {
    let time: ManualClock;
    let store: RetainedStore;
    let root: string;

    beforeEach(async () => {
      time = new ManualClock();
      store = await makeStore(time.clock);
      root = `r-${randomUUID()}`;
    });

    const message = (topic: string, overrides: Partial<RetainedRecord> = {}): RetainedRecord => ({
      topic,
      payload: new TextEncoder().encode(`payload of ${topic}`),
      qos: 1,
      requestTimeEpoch: time.nowMs,
      receivedAt: time.nowMs,
      messageExpiresAt: null,
      ...overrides,
    });
    const topicsOf = (records: RetainedRecord[]) => records.map((r) => r.topic).sort();
    const mine = (records: RetainedRecord[]) => records.filter((r) => r.topic.includes(root));
    const match = async (filter: string) => topicsOf(mine(await store.matching(filter)));

    describe('put and get', () => {
      it('round-trips payload bytes and properties exactly [MQTT-3.3.2-18]', async () => {
        const record = message(`${root}/a`, {
          payload: new Uint8Array([0x00, 0xff, 0x10, 0x80]),
          qos: 2,
          receivedAt: time.nowMs - 5,
          messageExpiresAt: time.nowMs + 60_000,
          properties: {
            payloadFormatIndicator: 0,
            messageExpiryInterval: 60,
            contentType: 'application/octet-stream',
            responseTopic: `${root}/reply`,
            correlationData: new Uint8Array([0xde, 0xad, 0x00, 0xbe, 0xef]),
            userProperties: [
              ['z', '1'],
              ['a', '2'],
              ['z', '3'],
            ],
          },
        });
        expect(await store.put(record)).toBe('written');
        const read = await store.get(record.topic);
        expect(read).toEqual(record);
        expect(read?.payload).toBeInstanceOf(Uint8Array);
        expect(read?.properties?.correlationData).toBeInstanceOf(Uint8Array);
        expect(await store.matching(record.topic)).toEqual([record]);
      });

      it('leaves absent properties absent', async () => {
        const record = message(`${root}/a`);
        await store.put(record);
        const read = await store.get(record.topic);
        expect(Object.keys(read as object).sort()).toEqual(
          ['topic', 'payload', 'qos', 'requestTimeEpoch', 'receivedAt', 'messageExpiresAt'].sort(),
        );
      });

      it('returns undefined for a topic without a retained message', async () => {
        expect(await store.get(`${root}/none`)).toBeUndefined();
      });

      it('returns copies: changing them does not change the store', async () => {
        const record = message(`${root}/a`);
        await store.put(record);
        const read = await store.get(record.topic);
        if (read) read.payload[0] = 0;
        const [matched] = await store.matching(record.topic);
        matched.qos = 0;
        expect(await store.get(record.topic)).toEqual(record);
      });

      it('stores a topic whose first level is empty', async () => {
        const record = message(`/${root}`);
        await store.put(record);
        expect(await store.get(record.topic)).toEqual(record);
        expect(await store.matching(`/${root}`)).toEqual([record]);
        expect(await store.matching('/+')).toContainEqual(record);
      });
    });

    describe('last writer wins, by gateway arrival time [MQTT-3.3.1-5]', () => {
      it('newer then older: the older one is stale', async () => {
        const topic = `${root}/a`;
        const newer = message(topic, { requestTimeEpoch: time.nowMs + 10, payload: new Uint8Array([2]) });
        const older = message(topic, { requestTimeEpoch: time.nowMs, payload: new Uint8Array([1]) });
        expect(await store.put(newer)).toBe('written');
        expect(await store.put(older)).toBe('stale');
        expect(await store.get(topic)).toEqual(newer);
      });

      it('older then newer: the newer one replaces it', async () => {
        const topic = `${root}/a`;
        const older = message(topic, { requestTimeEpoch: time.nowMs, payload: new Uint8Array([1]) });
        const newer = message(topic, { requestTimeEpoch: time.nowMs + 10, payload: new Uint8Array([2]) });
        expect(await store.put(older)).toBe('written');
        expect(await store.put(newer)).toBe('written');
        expect(await store.get(topic)).toEqual(newer);
        expect(await store.matching(`${root}/#`)).toEqual([newer]);
      });

      it('a write with the same arrival time as the stored one is stale', async () => {
        const topic = `${root}/a`;
        const first = message(topic);
        expect(await store.put(first)).toBe('written');
        expect(await store.put(message(topic, { payload: new Uint8Array([9]) }))).toBe('stale');
        expect(await store.get(topic)).toEqual(first);
      });

      it('settles concurrent writes on the newest, whatever the order they run in', async () => {
        const topic = `${root}/a`;
        const writes = [3, 1, 4, 0, 2].map((i) => message(topic, { requestTimeEpoch: time.nowMs + i, payload: new Uint8Array([i]) }));
        const results = await Promise.all(writes.map((w) => store.put(w)));
        expect(results[2]).toBe('written');
        expect((await store.get(topic))?.payload).toEqual(new Uint8Array([4]));
      });
    });

    describe('delete [MQTT-3.3.1-6] [MQTT-3.3.1-7]', () => {
      it('an empty-payload retained PUBLISH deletes the message: it is matched no more', async () => {
        const topic = `${root}/a`;
        await store.put(message(topic));
        expect(await store.delete(topic, time.nowMs + 1)).toBe('written');
        expect(await store.get(topic)).toBeUndefined();
        expect(await store.matching(topic)).toEqual([]);
        expect(await store.matching(`${root}/#`)).toEqual([]);
        expect(mine(await store.matching('#'))).toEqual([]);
      });

      it('the tombstone beats an older put that arrives late', async () => {
        const topic = `${root}/a`;
        expect(await store.delete(topic, time.nowMs + 10)).toBe('written');
        expect(await store.put(message(topic, { requestTimeEpoch: time.nowMs + 5 }))).toBe('stale');
        expect(await store.get(topic)).toBeUndefined();
      });

      it('is stale when a newer write is stored, which stays', async () => {
        const topic = `${root}/a`;
        const newer = message(topic, { requestTimeEpoch: time.nowMs + 10 });
        await store.put(newer);
        expect(await store.delete(topic, time.nowMs + 5)).toBe('stale');
        expect(await store.get(topic)).toEqual(newer);
      });

      it('a newer put after a delete stores the message again', async () => {
        const topic = `${root}/a`;
        await store.put(message(topic));
        await store.delete(topic, time.nowMs + 1);
        const again = message(topic, { requestTimeEpoch: time.nowMs + 2 });
        expect(await store.put(again)).toBe('written');
        expect(await store.get(topic)).toEqual(again);
      });

      it('deleting a topic without a message is fine, and repeated', async () => {
        const topic = `${root}/never`;
        expect(await store.delete(topic, time.nowMs)).toBe('written');
        expect(await store.delete(topic, time.nowMs + 1)).toBe('written');
        expect(await store.delete(topic, time.nowMs + 1)).toBe('stale');
        expect(await store.get(topic)).toBeUndefined();
      });
    });

    describe('matching', () => {
      const TOPICS = ['', '/a', '/a/b', '/a/bc', '/ab', '/a/b/', '/a/b/c', '/a/b/c/d', '/a/x/c', '/b/b'];
      const stored = () => TOPICS.map((suffix) => `${root}${suffix}`);
      const expected = (...suffixes: string[]) => suffixes.map((s) => `${root}${s}`).sort();

      beforeEach(async () => {
        for (const topic of stored()) await store.put(message(topic));
      });

      it('a filter without wildcards: that topic only', async () => {
        expect(await match(`${root}/a/b`)).toEqual(expected('/a/b'));
        expect(await match(`${root}/a/nothing`)).toEqual([]);
        expect(await match(root)).toEqual(expected(''));
      });

      it("a literal prefix: 'a/b' is not 'a/bc'", async () => {
        expect(await match(`${root}/a/+`)).toEqual(expected('/a/b', '/a/bc'));
        expect(await match(`${root}/a/b/+`)).toEqual(expected('/a/b/', '/a/b/c'));
        expect(await match(`${root}/a/+/c`)).toEqual(expected('/a/b/c', '/a/x/c'));
        expect(await match(`${root}/+/b`)).toEqual(expected('/a/b', '/b/b'));
      });

      it("'#' matches the parent level too: 'a/b/#' matches 'a/b' (MQTT 5.0 section 4.7.1.2)", async () => {
        expect(await match(`${root}/a/b/#`)).toEqual(expected('/a/b', '/a/b/', '/a/b/c', '/a/b/c/d'));
        expect(await match(`${root}/#`)).toEqual(stored().sort());
        expect(await match(`${root}/a/b/c/d/#`)).toEqual(expected('/a/b/c/d'));
      });

      it('a filter that starts with a wildcard', async () => {
        expect(await match('#')).toEqual(stored().sort());
        expect(await match('+/a/b')).toEqual(expected('/a/b'));
        expect(await match('+/+/b/#')).toEqual(expected('/a/b', '/a/b/', '/a/b/c', '/a/b/c/d', '/b/b'));
      });

      it('[MQTT-4.7.2-1] a leading wildcard never matches a $ topic; a $SYS filter does', async () => {
        const sys = message(`$SYS/${root}/uptime`);
        await store.put(sys);
        expect(mine(await store.matching('#')).map((r) => r.topic)).not.toContain(sys.topic);
        expect(mine(await store.matching(`+/${root}/uptime`))).toEqual([]);
        expect(await store.matching(`$SYS/${root}/uptime`)).toEqual([sys]);
        expect(mine(await store.matching('$SYS/#'))).toEqual([sys]);
        expect(mine(await store.matching('$SYS/+/uptime'))).toEqual([sys]);
      });
    });

    describe("topics over DynamoDB's key limits (issue 13 defect 6)", () => {
      const long = (tail: string) => `${root}/${'x'.repeat(1500)}/${tail}`;

      it('[MQTT-1.5.4-1] stores, finds, replaces and deletes a 1.5 KB topic (over the 1,024-byte sort key limit)', async () => {
        const a = message(long('a'));
        const b = message(long('b'));
        expect(await store.put(a)).toBe('written');
        expect(await store.put(b)).toBe('written');
        expect(await store.get(a.topic)).toEqual(a);
        expect(await store.matching(a.topic)).toEqual([a]);
        expect(await match(`${root}/#`)).toEqual([a.topic, b.topic]);
        expect(await match(`${root}/${'x'.repeat(1500)}/+`)).toEqual([a.topic, b.topic]);
        expect(await match(`${root}/+/b`)).toEqual([b.topic]);
        expect(await store.put(message(a.topic, { requestTimeEpoch: a.requestTimeEpoch - 1 }))).toBe('stale');
        expect(await store.delete(a.topic, a.requestTimeEpoch + 1)).toBe('written');
        expect(await match(`${root}/#`)).toEqual([b.topic]);
      });

      it('a literal prefix longer than a kilobyte, in UTF-8 bytes', async () => {
        const level = 'é'.repeat(700); // 1,400 bytes
        const topics = [`${root}/${level}/a`, `${root}/${level}/b/c`, `${root}/${level}e/a`];
        for (const t of topics) await store.put(message(t));
        expect(await match(`${root}/${level}/+`)).toEqual([topics[0]]);
        expect(await match(`${root}/${level}/#`)).toEqual([topics[0], topics[1]]);
        expect(await match(`${root}/${level}/b/c`)).toEqual([topics[1]]);
      });

      it('a first level over the 2,048-byte partition key limit', async () => {
        const first = `${root}${'z'.repeat(2100)}`;
        const t = message(`${first}/a`);
        await store.put(t);
        expect(await store.matching(`${first}/+`)).toEqual([t]);
        expect(await store.get(t.topic)).toEqual(t);
      });
    });

    describe('message expiry [MQTT-3.3.2-5]', () => {
      it('hides a message once its Message Expiry Interval has passed', async () => {
        const record = message(`${root}/a`, { messageExpiresAt: time.nowMs + 10_000 });
        await store.put(record);
        expect(await store.matching(`${root}/#`)).toEqual([record]);
        expect(await store.matching(`${root}/#`, time.nowMs + 10_000)).toEqual([]);
        expect(await store.get(record.topic, time.nowMs + 10_000)).toBeUndefined();
        time.advanceSeconds(11);
        expect(await store.get(record.topic)).toBeUndefined();
        expect(await store.matching(record.topic)).toEqual([]);
      });

      it('hides a message that had expired when it was stored', async () => {
        const record = message(`${root}/a`, { messageExpiresAt: time.nowMs - 1 });
        await store.put(record);
        expect(await store.get(record.topic)).toBeUndefined();
        expect(mine(await store.matching('#'))).toEqual([]);
      });

      it('keeps a message without expiry', async () => {
        const record = message(`${root}/a`);
        await store.put(record);
        time.advanceSeconds(30 * 24 * 3600);
        expect(await store.get(record.topic)).toEqual(record);
      });
    });
  });
}
