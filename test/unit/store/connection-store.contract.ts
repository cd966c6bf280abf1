/**
 * The ConnectionStore contract: every adapter passes these tests. Run by
 * test/unit/store/memory-connection-store.test.ts and
 * test/integration/store/dynamodb-connection-store.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../lib/store/clock';
import { AlreadyConnectedError, ConnectionNotFoundError } from '../../../lib/store/errors';
import type { ConnectionStore, MqttConnectionFields, NewConnection } from '../../../lib/store/ports';
import type { ConnectionScan } from '../../../lib/store/scan';
import type { ProtocolVersion } from '../../../lib/mqtt/types';

/** A clock the test moves. It starts at the real time, so real TTL never deletes live test items. */
export class ManualClock {
  nowMs = Date.now();
  readonly clock: Clock = () => this.nowMs;
  advanceSeconds(seconds: number): void {
    this.nowMs += seconds * 1000;
  }
}

type ScannableStore = ConnectionStore & ConnectionScan;
export type ConnectionStoreFactory = (clock: Clock) => ScannableStore | Promise<ScannableStore>;

const HOUR = 3600;

export function connectionStoreContract(adapter: string, makeStore: ConnectionStoreFactory): void {
  describe(`ConnectionStore contract: ${adapter}`, () => {
    let time: ManualClock;
    let store: ScannableStore;

    const nowSeconds = () => Math.floor(time.nowMs / 1000);
    const newConnection = (overrides: Partial<NewConnection> = {}): NewConnection => ({
      connectionId: `conn-${randomUUID()}`,
      mode: 'text',
      connectedAt: time.nowMs,
      expiresAt: nowSeconds() + 2 * HOUR,
      ...overrides,
    });
    const connectFields = (protocolVersion: ProtocolVersion, overrides: Partial<MqttConnectionFields> = {}) => ({
      clientId: `client-${randomUUID()}`,
      protocolVersion,
      keepAlive: 60,
      cleanStart: true,
      mqttConnectedAt: time.nowMs,
      ...overrides,
    });

    beforeEach(async () => {
      time = new ManualClock();
      store = await makeStore(time.clock);
    });

    describe('open and get', () => {
      it('stores a new connection with status open', async () => {
        const connection = newConnection({ requestTimeEpoch: time.nowMs - 5, sourceIp: '192.0.2.1' });
        const opened = await store.open(connection);
        expect(opened).toEqual({ ...connection, status: 'open' });
        expect(await store.get(connection.connectionId)).toEqual({ ...connection, status: 'open' });
      });

      it('leaves absent optional fields absent', async () => {
        const connection = newConnection({ sourceIp: undefined });
        await store.open(connection);
        const record = await store.get(connection.connectionId);
        expect(record).toBeDefined();
        expect(Object.keys(record as object).sort()).toEqual(
          ['connectionId', 'connectedAt', 'expiresAt', 'mode', 'status'].sort(),
        );
      });

      it('returns undefined for an unknown connection', async () => {
        expect(await store.get(`conn-${randomUUID()}`)).toBeUndefined();
      });

      it('returns a copy: changing it does not change the store', async () => {
        const connection = newConnection();
        const opened = await store.open(connection);
        opened.mode = 'binary';
        const read = await store.get(connection.connectionId);
        if (read) read.mode = 'binary';
        expect((await store.get(connection.connectionId))?.mode).toBe('text');
      });
    });

    describe('expiry (TTL deletes late, so reads filter)', () => {
      it('hides a record whose expiresAt has passed', async () => {
        const connection = newConnection({ expiresAt: nowSeconds() - 1 });
        await store.open(connection);
        expect(await store.get(connection.connectionId)).toBeUndefined();
        expect(await store.get(connection.connectionId, { consistent: false })).toBeUndefined();
      });

      it('hides a record once the clock passes its expiresAt', async () => {
        const connection = newConnection({ expiresAt: nowSeconds() + 60 });
        await store.open(connection);
        expect(await store.get(connection.connectionId)).toBeDefined();
        time.advanceSeconds(60);
        expect(await store.get(connection.connectionId)).toBeUndefined();
      });

      it('treats an expired record as missing in every operation', async () => {
        const connection = newConnection({ expiresAt: nowSeconds() + 10 });
        await store.open(connection);
        time.advanceSeconds(11);
        const id = connection.connectionId;
        await expect(store.markConnected(id, connectFields(4))).rejects.toBeInstanceOf(ConnectionNotFoundError);
        await expect(store.setMode(id, 'binary')).rejects.toBeInstanceOf(ConnectionNotFoundError);
        expect(await store.remove(id)).toBeUndefined();
      });
    });

    describe.each([4, 5] as const)('markConnected, protocol %i', (protocolVersion) => {
      it('records the CONNECT and sets status mqtt', async () => {
        const connection = newConnection();
        await store.open(connection);
        const fields = connectFields(protocolVersion, { username: 'plant-7', keepAlive: 30, cleanStart: false });
        const updated = await store.markConnected(connection.connectionId, fields);
        const expected = { ...connection, ...fields, status: 'mqtt' };
        expect(updated).toEqual(expected);
        expect(await store.get(connection.connectionId)).toEqual(expected);
      });

      it('throws ConnectionNotFoundError for an unknown connection', async () => {
        const id = `conn-${randomUUID()}`;
        await expect(store.markConnected(id, connectFields(protocolVersion))).rejects.toBeInstanceOf(
          ConnectionNotFoundError,
        );
        expect(await store.get(id)).toBeUndefined();
      });

      it('[MQTT-3.1.0-2] throws AlreadyConnectedError on a second CONNECT and keeps the first', async () => {
        const connection = newConnection();
        await store.open(connection);
        const first = connectFields(protocolVersion);
        await store.markConnected(connection.connectionId, first);
        const error = await store.markConnected(connection.connectionId, connectFields(protocolVersion)).catch((e) => e);
        expect(error).toBeInstanceOf(AlreadyConnectedError);
        expect(error.cause === undefined || error.cause instanceof Error).toBe(true);
        expect((await store.get(connection.connectionId))?.clientId).toBe(first.clientId);
      });

      it('[MQTT-3.1.0-2] lets exactly one of two concurrent CONNECTs win', async () => {
        for (let round = 0; round < 5; round++) {
          const connection = newConnection();
          await store.open(connection);
          const contenders = [connectFields(protocolVersion), connectFields(protocolVersion)];
          const results = await Promise.allSettled(contenders.map((f) => store.markConnected(connection.connectionId, f)));
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          expect(lost[0].reason).toBeInstanceOf(AlreadyConnectedError);
          const winner = contenders[results.indexOf(won[0])];
          expect((await store.get(connection.connectionId))?.clientId).toBe(winner.clientId);
        }
      });
    });

    it('keeps protocol 3 (MQTT 3.1) as it is', async () => {
      const connection = newConnection();
      await store.open(connection);
      await store.markConnected(connection.connectionId, connectFields(3));
      expect((await store.get(connection.connectionId))?.protocolVersion).toBe(3);
    });

    it('stores the v5 limits the client announced', async () => {
      const connection = newConnection();
      await store.open(connection);
      const fields = connectFields(5, {
        sessionExpiryInterval: 3600,
        receiveMaximum: 20,
        maximumPacketSize: 65536,
        topicAliasMaximum: 10,
      });
      await store.markConnected(connection.connectionId, fields);
      expect(await store.get(connection.connectionId)).toMatchObject(fields);
    });

    describe('setMode', () => {
      it('changes the transport mode of a live connection', async () => {
        const connection = newConnection({ mode: 'text' });
        await store.open(connection);
        await store.setMode(connection.connectionId, 'binary');
        expect((await store.get(connection.connectionId))?.mode).toBe('binary');
      });

      it('throws ConnectionNotFoundError for an unknown connection', async () => {
        const id = `conn-${randomUUID()}`;
        await expect(store.setMode(id, 'binary')).rejects.toBeInstanceOf(ConnectionNotFoundError);
        expect(await store.get(id)).toBeUndefined();
      });
    });

    describe('remove', () => {
      it('returns the removed record, with its MQTT state for the will', async () => {
        const connection = newConnection();
        await store.open(connection);
        const fields = connectFields(5);
        await store.markConnected(connection.connectionId, fields);
        expect(await store.remove(connection.connectionId)).toEqual({ ...connection, ...fields, status: 'mqtt' });
        expect(await store.get(connection.connectionId)).toBeUndefined();
      });

      it('is idempotent', async () => {
        const connection = newConnection();
        await store.open(connection);
        expect(await store.remove(connection.connectionId)).toBeDefined();
        expect(await store.remove(connection.connectionId)).toBeUndefined();
        expect(await store.remove(`conn-${randomUUID()}`)).toBeUndefined();
      });

      it('makes a later CONNECT fail with ConnectionNotFoundError', async () => {
        const connection = newConnection();
        await store.open(connection);
        await store.remove(connection.connectionId);
        await expect(store.markConnected(connection.connectionId, connectFields(4))).rejects.toBeInstanceOf(
          ConnectionNotFoundError,
        );
      });
    });

    describe('page, the scan of the sweeper', () => {
      it('reads every record across pages, also when records are removed between pages', async () => {
        const mine = new Set<string>();
        for (let i = 0; i < 5; i++) mine.add((await store.open(newConnection())).connectionId);
        const seen = new Set<string>();
        let cursor: string | undefined;
        do {
          const page = await store.page(cursor, 2);
          for (const record of page.records) {
            seen.add(record.connectionId);
            if (mine.has(record.connectionId)) await store.remove(record.connectionId);
          }
          cursor = page.cursor;
        } while (cursor !== undefined);
        for (const id of mine) expect(seen.has(id)).toBe(true);
      });

      it('includes expired records, which the sweeper cleans up', async () => {
        const connection = newConnection({ expiresAt: nowSeconds() + 10 });
        await store.open(connection);
        time.advanceSeconds(11);
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.page(cursor, 100);
          ids.push(...page.records.map((r) => r.connectionId));
          cursor = page.cursor;
        } while (cursor !== undefined);
        expect(ids).toContain(connection.connectionId);
      });
    });
  });
}
