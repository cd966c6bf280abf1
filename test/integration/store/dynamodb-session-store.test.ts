import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoSessionStore } from '../../../lib/store/dynamodb/session-store';
import { SessionTakenOverError } from '../../../lib/store/errors';
import type { ClaimRequest } from '../../../lib/store/ports';
import { useDynamoTables } from '../../helpers/dynamodb';
import { sessionRetryContract } from '../../unit/store/session-retry.contract';
import { sessionStoreContract } from '../../unit/store/session-store.contract';

const db = await useDynamoTables({ tables: ['sessions'] });

sessionStoreContract('dynamodb', (clock) => new DynamoSessionStore(db.metered, db.names.sessions, { clock }));
sessionRetryContract('dynamodb', (clock) => new DynamoSessionStore(db.metered, db.names.sessions, { clock }));

describe('DynamoSessionStore requests and capacity', () => {
  const store = new DynamoSessionStore(db.metered, db.names.sessions);
  const table = db.names.sessions;
  const claim = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
    clientId: `client-${randomUUID()}`,
    connectionId: `conn-${randomUUID()}`,
    cleanStart: false,
    protocolVersion: 5,
    sessionExpiryInterval: 3600,
    requestTimeEpoch: Date.now(),
    will: { topic: 'plant/7/status', payload: new Uint8Array([1, 2, 3]), qos: 1, retain: false },
    ...overrides,
  });
  const calls = () => db.meter.take().entries.map((e) => [e.operation, e.table, e.readUnits, e.writeUnits]);

  beforeEach(() => db.meter.reset());

  it('claim is one UpdateItem (Clean Start 1, or Clean Start 0 with an accurate hint)', async () => {
    await store.claim(claim({ cleanStart: true }));
    expect(calls()).toEqual([['UpdateItem', table, 0, 1]]);
    const first = claim({ hint: 'absent' });
    await store.claim(first);
    expect(calls()).toEqual([['UpdateItem', table, 0, 1]]);
    await store.claim({ ...first, connectionId: `conn-${randomUUID()}`, requestTimeEpoch: Date.now() + 1, hint: 'present' });
    expect(calls()).toEqual([['UpdateItem', table, 0, 1]]);
  });

  it('a stale hint costs one failed write more, never a wrong answer', async () => {
    const result = await store.claim(claim({ hint: 'present' }));
    expect(result.sessionPresent).toBe(false);
    expect(db.meter.take().entries).toEqual([
      { operation: 'UpdateItem', table, readUnits: 0, writeUnits: 1, estimated: true },
      { operation: 'UpdateItem', table, readUnits: 0, writeUnits: 1 },
    ]);
  });

  it('get is one strongly consistent GetItem; release, takeWill, discardWill, setExpiry one UpdateItem each', async () => {
    const request = claim({ cleanStart: true });
    await store.claim(request);
    db.meter.reset();
    await store.get(request.clientId);
    await store.setExpiry({ ...request, sessionExpiryInterval: 60 });
    await store.takeWill(request);
    await store.discardWill(request);
    await store.release(request);
    expect(calls()).toEqual([
      ['GetItem', table, 1, 0],
      ['UpdateItem', table, 0, 1],
      ['UpdateItem', table, 0, 1],
      ['UpdateItem', table, 0, 1],
      ['UpdateItem', table, 0, 1],
    ]);
  });

  it('release of a connection with a will holds it: release and settleWill are one UpdateItem each; a delayed will needs no settle', async () => {
    const request = claim({ cleanStart: true });
    await store.claim(request);
    db.meter.reset();
    const released = await store.release({ ...request, hasWill: true });
    expect(released).toMatchObject({ will: { action: 'publish' }, willHeld: true });
    await store.settleWill(request);
    expect(calls()).toEqual([
      ['UpdateItem', table, 0, 1],
      ['UpdateItem', table, 0, 1],
    ]);
    const delayed = { topic: 't', payload: new Uint8Array(0), qos: 0 as const, retain: false, properties: { willDelayInterval: 1 } };
    const deferred = claim({ cleanStart: true, will: delayed });
    await store.claim(deferred);
    db.meter.reset();
    expect(await store.release({ ...deferred, hasWill: true })).toMatchObject({ will: { action: 'deferred' }, willHeld: false });
    expect(calls().map((c) => c[0])).toEqual(['UpdateItem', 'UpdateItem']);
  });

  it('release of a delayed will is two UpdateItems, the second also writing the sweep index; the sweep is one Query per shard, one UpdateItem moving the index entry to the lease, one settling it', async () => {
    const delayed = { topic: 't', payload: new Uint8Array(0), qos: 0 as const, retain: false, properties: { willDelayInterval: 1 } };
    const request = claim({ cleanStart: true, will: delayed });
    await store.claim(request);
    db.meter.reset();
    const released = await store.release(request);
    expect(calls()).toEqual([
      ['UpdateItem', table, 0, 1],
      ['UpdateItem', table, 0, 2], // 1 for the item + 1 for its entry in the sweep index
    ]);
    const dueAt = released.outcome === 'released' && released.will.action === 'deferred' ? released.will.dueAt : 0;
    const due = await store.dueWills({ now: dueAt, limit: 10 });
    expect(due.map((d) => d.clientId)).toContain(request.clientId);
    expect(await store.takeDueWill(request.clientId, dueAt)).toEqual(delayed);
    await store.settleDueWill(request.clientId);
    const entries = db.meter.take().entries;
    expect(entries.filter((e) => e.operation === 'Query')).toHaveLength(4);
    expect(entries.filter((e) => e.operation === 'Query').every((e) => e.readUnits === 0.5)).toBe(true);
    // take: the item + the index entry moved to the lease's end (delete + put); settle: the item + the index delete
    expect(entries.filter((e) => e.operation === 'UpdateItem').map((e) => e.writeUnits)).toEqual([3, 2]);
  });

  it('keeps the SDK exception as the cause of SessionTakenOverError', async () => {
    const newer = claim();
    await store.claim(newer);
    const error = await store
      .claim({ ...newer, connectionId: `conn-${randomUUID()}`, requestTimeEpoch: newer.requestTimeEpoch - 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionTakenOverError);
    expect((error as Error).cause).toBeInstanceOf(ConditionalCheckFailedException);
  });
});
