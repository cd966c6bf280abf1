import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { MeteredDynamoDb } from '../../../lib/store/dynamodb/metered';
import { DynamoRetainedStore } from '../../../lib/store/dynamodb/retained-store';
import type { RetainedRecord } from '../../../lib/store/retained-port';
import { useDynamoTables } from '../../helpers/dynamodb';
import { retainedStoreContract } from '../../unit/store/retained-store.contract';

const db = await useDynamoTables({ tables: ['retained'] });
const table = db.names.retained;

retainedStoreContract('dynamodb', (clock) => new DynamoRetainedStore(db.metered, table, { clock }));

describe('DynamoRetainedStore requests and units', () => {
  const store = new DynamoRetainedStore(db.metered, table);
  const ops = () => db.meter.take().entries.map((e) => [e.operation, e.readUnits, e.writeUnits, e.estimated ?? false]);
  let root: string;
  const message = (topic: string, requestTimeEpoch = Date.now()): RetainedRecord => ({
    topic,
    payload: new Uint8Array(100),
    qos: 0,
    requestTimeEpoch,
    receivedAt: requestTimeEpoch,
    messageExpiresAt: null,
  });

  beforeEach(async () => {
    root = `r-${randomUUID()}`;
    await store.put(message(`${root}/a/b`));
    await store.put(message(`${root}/a/b/c`));
    db.meter.reset();
  });

  it('put: one conditional PutItem, 1 WRU; a stale one is billed too (estimated)', async () => {
    const t = Date.now() + 1000;
    await store.put(message(`${root}/x`, t));
    expect(await store.put(message(`${root}/x`, t - 1))).toBe('stale');
    expect(await store.delete(`${root}/x`, t + 1)).toBe('written');
    expect(ops()).toEqual([
      ['PutItem', 0, 1, false],
      ['PutItem', 0, 1, true],
      ['PutItem', 0, 1, false],
    ]);
  });

  it('matching a literal prefix: Queries only, in one round trip, 0.5 RRU each', async () => {
    await store.matching(`${root}/a/b`);
    expect(ops()).toEqual([['Query', 0.5, 0, false]]);
    await store.matching(`${root}/+/b`);
    expect(ops()).toEqual([['Query', 0.5, 0, false]]);
    await store.matching(`${root}/a/+`);
    expect(ops()).toEqual([['Query', 0.5, 0, false]]);
    // begins_with 'root/a/b/' and the topic 'root/a/b' itself (MQTT 5.0 section 4.7.1.2)
    expect((await store.matching(`${root}/a/b/#`)).map((r) => r.topic)).toEqual([`${root}/a/b`, `${root}/a/b/c`]);
    expect(ops()).toEqual([
      ['Query', 0.5, 0, false],
      ['Query', 0.5, 0, false],
    ]);
  });

  it('matching a filter that starts with a wildcard: a Scan (the only one)', async () => {
    await store.matching('+/a/b');
    const snapshot = db.meter.take();
    expect(Object.keys(snapshot.byOperation)).toEqual(['Scan']);
    expect(snapshot.readUnits).toBeGreaterThanOrEqual(0.5);
  });

  it('get: one strongly consistent GetItem', async () => {
    await store.get(`${root}/a/b`);
    expect(ops()).toEqual([['GetItem', 1, 0, false]]);
  });
});

describe('DynamoRetainedStore paging', () => {
  it('follows LastEvaluatedKey in Queries and in the Scan', async () => {
    // The real client, with pages of 2 items: exercises paging without 1 MB of data.
    const small = {
      send: (command: Parameters<typeof db.client.send>[0]) => {
        if (command instanceof QueryCommand || command instanceof ScanCommand) command.input.Limit = 2;
        return db.client.send(command);
      },
    } as unknown as typeof db.client;
    const store = new DynamoRetainedStore(new MeteredDynamoDb(small), table);
    const root = `r-${randomUUID()}`;
    const topics = [1, 2, 3, 4, 5].map((i) => `${root}/p/${i}`);
    for (const topic of topics) {
      await store.put({ topic, payload: new Uint8Array([1]), qos: 0, requestTimeEpoch: 1, receivedAt: 1, messageExpiresAt: null });
    }
    expect((await store.matching(`${root}/p/+`)).map((r) => r.topic)).toEqual(topics);
    expect((await store.matching('+/p/#')).map((r) => r.topic).filter((t) => t.startsWith(root))).toEqual(topics);
  });
});
