import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoConnectionStore } from '../../../lib/store/dynamodb/connection-store';
import { AlreadyConnectedError } from '../../../lib/store/errors';
import { useDynamoTables } from '../../helpers/dynamodb';
import { connectionStoreContract } from '../../unit/store/connection-store.contract';

const db = await useDynamoTables({ tables: ['connections'] });

connectionStoreContract('dynamodb', (clock) => new DynamoConnectionStore(db.metered, db.names.connections, { clock }));

describe('DynamoConnectionStore metering', () => {
  const store = new DynamoConnectionStore(db.metered, db.names.connections);
  const table = db.names.connections;
  const connection = () => ({
    connectionId: `conn-${randomUUID()}`,
    mode: 'text' as const,
    connectedAt: Date.now(),
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  });
  const fields = () => ({
    clientId: `client-${randomUUID()}`,
    protocolVersion: 5 as const,
    keepAlive: 60,
    cleanStart: true,
    mqttConnectedAt: Date.now(),
  });

  beforeEach(() => db.meter.reset());

  it('reports every request with its table and units', async () => {
    const c = connection();
    await store.open(c);
    await store.get(c.connectionId);
    await store.get(c.connectionId, { consistent: false });
    await store.markConnected(c.connectionId, fields());
    await store.remove(c.connectionId);
    const snapshot = db.meter.take();
    expect(snapshot.entries.map((e) => [e.operation, e.table])).toEqual([
      ['PutItem', table],
      ['GetItem', table],
      ['GetItem', table],
      ['UpdateItem', table],
      ['DeleteItem', table],
    ]);
    // a small item: 1 write unit per write, 1 read unit strongly consistent, 0.5 eventually
    expect(snapshot.entries.map((e) => [e.readUnits, e.writeUnits])).toEqual([
      [0, 1],
      [1, 0],
      [0.5, 0],
      [0, 1],
      [0, 1],
    ]);
    expect(snapshot).toMatchObject({ requests: 5, readUnits: 1.5, writeUnits: 3 });
    expect(snapshot.byOperation.GetItem).toEqual({ requests: 2, readUnits: 1.5, writeUnits: 0 });
    expect(db.meter.snapshot().requests).toBe(0);
  });

  it('counts a write whose condition failed (billed, estimated)', async () => {
    const c = connection();
    await store.open(c);
    await store.markConnected(c.connectionId, fields());
    db.meter.reset();
    await expect(store.markConnected(c.connectionId, fields())).rejects.toBeInstanceOf(AlreadyConnectedError);
    expect(db.meter.take().entries).toEqual([
      { operation: 'UpdateItem', table, readUnits: 0, writeUnits: 1, estimated: true },
    ]);
  });

  it('keeps the SDK exception as the cause of the domain error', async () => {
    const c = connection();
    await store.open(c);
    await store.markConnected(c.connectionId, fields());
    const error = await store.markConnected(c.connectionId, fields()).catch((e) => e);
    expect(error.cause).toBeInstanceOf(ConditionalCheckFailedException);
  });
});
