import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoMessageStore } from '../../../lib/store/dynamodb/message-store';
import { useDynamoTables } from '../../helpers/dynamodb';
import { holdFirstUpdate, isSlotRelease } from '../../helpers/held-update';
import { message, messageStoreContract } from '../../unit/store/message-store.contract';

const db = await useDynamoTables({ tables: ['messages'] });
const table = db.names.messages;

messageStoreContract('dynamodb', (clock, options) => new DynamoMessageStore(db.metered, table, { clock, ...options }));

const EPOCH = '000001700000000/conn-a';

describe('DynamoMessageStore packet ids across instances', () => {
  it('proposes another id when the proposed one is in flight (two Lambda containers)', async () => {
    const client = `client-${randomUUID()}`;
    const a = new DynamoMessageStore(db.metered, table, { firstPacketId: 7 });
    const b = new DynamoMessageStore(db.metered, table, { firstPacketId: 7 });
    expect(await a.reserve(client, EPOCH, 10)).toMatchObject({ outcome: 'reserved', packetId: 7, sequence: 1 });
    expect(await b.reserve(client, EPOCH, 10)).toMatchObject({ outcome: 'reserved', packetId: 8, sequence: 2 });
    // a proposes 8 next (its last + 1), which b holds: it gets 9
    expect(await a.reserve(client, EPOCH, 10)).toMatchObject({ outcome: 'reserved', packetId: 9, sequence: 3 });
  });

  it('lets many concurrent reservations for one client all succeed, with distinct ids (fan-out from many invocations)', async () => {
    const client = `client-${randomUUID()}`;
    const containers = [new DynamoMessageStore(db.metered, table), new DynamoMessageStore(db.metered, table)];
    // Each container has served the client once: the state in which proposals used to collide.
    for (const c of containers) await c.reserve(client, EPOCH, 100);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => containers[i % 2].reserve(client, EPOCH, 100)));
    const ids = results.map((r) => (r.outcome === 'reserved' ? r.packetId : 0));
    expect(ids.every((id) => id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(40);
  });

  it('skips ids still in flight on wrap-around', async () => {
    const client = `client-${randomUUID()}`;
    const held = new DynamoMessageStore(db.metered, table, { firstPacketId: 1 });
    await held.reserve(client, EPOCH, 10); // id 1 stays in flight
    const store = new DynamoMessageStore(db.metered, table, { firstPacketId: 65535 });
    expect(await store.reserve(client, EPOCH, 10)).toMatchObject({ packetId: 65535 });
    expect(await store.reserve(client, EPOCH, 10)).toMatchObject({ packetId: 2 });
  });
});

describe('DynamoMessageStore concurrent takes', () => {
  it('gives back the slots of two takes whose releases come out of order', async () => {
    const client = `client-${randomUUID()}`;
    const hold = holdFirstUpdate(db.metered, isSlotRelease);
    const store = new DynamoMessageStore(hold.db, table);
    for (let i = 0; i < 6; i++) await store.enqueue(client, EPOCH, message(`q/${i}`), 6);
    const first = store.takeQueued(client, EPOCH, 3);
    await vi.waitFor(() => expect(hold.isHeld()).toBe(true));
    expect((await store.takeQueued(client, EPOCH, 3)).map((m) => m.sequence)).toEqual([4, 5, 6]);
    hold.letGo();
    expect((await first).map((m) => m.sequence)).toEqual([1, 2, 3]);
    // all six slots are free again
    for (let i = 0; i < 6; i++) expect(await store.enqueue(client, EPOCH, message(`r/${i}`), 6)).toMatchObject({ outcome: 'queued' });
    expect(await store.enqueue(client, EPOCH, message('r/6'), 6)).toMatchObject({ outcome: 'full' });
  });
});

describe('DynamoMessageStore metering', () => {
  const store = new DynamoMessageStore(db.metered, table);
  let client: string;
  const ops = () => db.meter.take().entries.map((e) => [e.operation, e.readUnits, e.writeUnits]);

  beforeEach(() => {
    client = `client-${randomUUID()}`;
    db.meter.reset();
  });

  it('reserve: 1 UpdateItem, 1 write unit; window-full: 1 failed UpdateItem', async () => {
    const r = await store.reserve(client, EPOCH, 1);
    expect(ops()).toEqual([['UpdateItem', 0, 1]]);
    expect(await store.reserve(client, EPOCH, 1)).toEqual({ outcome: 'window-full' });
    expect(db.meter.take().entries).toEqual([{ operation: 'UpdateItem', table, readUnits: 0, writeUnits: 1, estimated: true }]);
    expect(r.outcome).toBe('reserved');
  });

  it('putInflight: 1 PutItem; released: 1 UpdateItem; complete: DeleteItem + UpdateItem; a duplicate: DeleteItem + 1 failed UpdateItem', async () => {
    const r = await store.reserve(client, EPOCH, 1);
    if (r.outcome !== 'reserved') throw new Error('not reserved');
    db.meter.reset();
    await store.putInflight(client, EPOCH, { ...message('m'), packetId: r.packetId, sequence: r.sequence, stage: 'publish' });
    expect(ops()).toEqual([['PutItem', 0, 1]]);
    await store.released(client, EPOCH, r.packetId);
    expect(ops()).toEqual([['UpdateItem', 0, 1]]);
    // The message first, then its slot (issue 13, defect 5: a complete cut short never leaves a
    // message under a free packet id).
    await store.complete(client, EPOCH, r.packetId);
    expect(ops()).toEqual([
      ['DeleteItem', 0, 1],
      ['UpdateItem', 0, 1],
    ]);
    await store.complete(client, EPOCH, r.packetId);
    expect(ops()).toEqual([
      ['DeleteItem', 0, 1],
      ['UpdateItem', 0, 1],
    ]);
  });

  it('inflight: 1 Query (strongly consistent)', async () => {
    await store.reserve(client, EPOCH, 1);
    db.meter.reset();
    await store.inflight(client, EPOCH);
    expect(ops()).toEqual([['Query', 1, 0]]);
  });

  it('receiveQos2: 1 PutItem; releaseQos2: 1 UpdateItem (the receipt stays, released)', async () => {
    await store.receiveQos2(client, EPOCH, 1);
    expect(ops()).toEqual([['PutItem', 0, 1]]);
    await store.receiveQos2(client, EPOCH, 1);
    expect(ops()).toEqual([['PutItem', 0, 1]]);
    await store.releaseQos2(client, EPOCH, 1);
    expect(ops()).toEqual([['UpdateItem', 0, 1]]);
  });

  it('enqueue: UpdateItem + PutItem; takeQueued(n): Query + n taken-mark PutItems + n TransactWriteItems (1 item, 2 units) + 1 UpdateItem', async () => {
    await store.enqueue(client, EPOCH, message('a'), 10);
    expect(ops()).toEqual([
      ['UpdateItem', 0, 1],
      ['PutItem', 0, 1],
    ]);
    await store.enqueue(client, EPOCH, message('b'), 10);
    db.meter.reset();
    await store.takeQueued(client, EPOCH, 10);
    expect(ops()).toEqual([
      ['Query', 1, 0],
      ['PutItem', 0, 1],
      ['PutItem', 0, 1],
      ['TransactWriteItems', 0, 2],
      ['TransactWriteItems', 0, 2],
      ['UpdateItem', 0, 1],
    ]);
  });

  it('dequeue (a drain\'s take) of a persistent session: Query + 1 taken-mark PutItem + 1 TransactWriteItems (2 items, 4 units) + 1 UpdateItem', async () => {
    await store.enqueue(client, EPOCH, message('a'), 10);
    const r = await store.reserve(client, EPOCH, 10);
    if (r.outcome !== 'reserved') throw new Error('not reserved');
    db.meter.reset();
    await store.dequeue(client, EPOCH, { ...r, keep: true });
    expect(ops()).toEqual([
      ['Query', 1, 0],
      ['PutItem', 0, 1],
      ['TransactWriteItems', 0, 4],
      ['UpdateItem', 0, 1],
    ]);
  });

  it('deleteAll: 1 Query + 1 conditional DeleteItem per item of the epochs in scope (1 WRU each)', async () => {
    for (let i = 0; i < 26; i++) await store.receiveQos2(client, EPOCH, i + 1);
    db.meter.reset();
    await store.deleteAll(client, { through: EPOCH });
    const snapshot = db.meter.take();
    expect(snapshot.byOperation.Query?.requests).toBe(1);
    expect(snapshot.byOperation.DeleteItem).toEqual({ requests: 26, readUnits: 0, writeUnits: 26 });
  });
});
