/**
 * The DynamoDB MessageStore when AWS retries (issue 13, defects 1 and 5, gap 10): every write is
 * applied, its response lost, and the SDK sends it again ('sdk-retry'), or the caller dies after it
 * ('lost-response'), on DynamoDB Local through test/helpers/faulty-dynamodb.ts. A conditional write
 * must recognise its own earlier success; a counter must count each logical write once.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoMessageStore } from '../../../lib/store/dynamodb/message-store';
import { MeteredDynamoDb } from '../../../lib/store/dynamodb/metered';
import type { Reservation } from '../../../lib/store/message-port';
import { useDynamoTables } from '../../helpers/dynamodb';
import { FaultyDynamoDb, type FaultRule } from '../../helpers/faulty-dynamodb';
import { holdFirstUpdate, isSlotRelease } from '../../helpers/held-update';
import { ManualClock } from '../../unit/store/connection-store.contract';
import { message } from '../../unit/store/message-store.contract';

const db = await useDynamoTables({ tables: ['messages'] });
const table = db.names.messages;
const EPOCH = '000001700000000/conn-a';
const [A, B] = ['000001700000001/conn-a', '000001700000002/conn-b'];

type Input = Record<string, unknown>;
const keyOf = (input: Input) => ((input.Key ?? input.Item) as Record<string, { S?: string }> | undefined)?.itemKey?.S ?? '';
const onCounter = (input: Input) => keyOf(input) === 'counter';
const updates = (attribute: string) => (input: Input) => onCounter(input) && String(input.UpdateExpression).includes(attribute);

function reserved(r: Reservation): { packetId: number; sequence: number } {
  if (r.outcome !== 'reserved') throw new Error(`expected a reservation, got ${r.outcome}`);
  return r;
}

describe('DynamoMessageStore under retried writes', () => {
  let faulty: FaultyDynamoDb;
  let store: DynamoMessageStore;
  let client: string;
  let time: ManualClock;
  const fault = (rule: FaultRule) => faulty.inject(rule);
  const itemExists = async (itemKey: string) =>
    (await db.client.send(new GetItemCommand({ TableName: table, Key: { clientId: { S: client }, itemKey: { S: itemKey } }, ConsistentRead: true })))
      .Item !== undefined;

  beforeEach(() => {
    faulty = new FaultyDynamoDb(db.client);
    time = new ManualClock();
    store = new DynamoMessageStore(new MeteredDynamoDb(faulty.client), table, { clock: time.clock });
    client = `client-${randomUUID()}`;
  });

  it("QoS 2 receipt: a retried receipt write is still 'new', so the message is routed [MQTT-4.3.3-10]", async () => {
    fault({ kind: 'sdk-retry', command: 'PutItem', where: (i) => keyOf(i).startsWith('in#') });
    expect(await store.receiveQos2(client, EPOCH, 7, A)).toBe('new');
    expect(faulty.injected).toHaveLength(1);
    expect(await store.receiveQos2(client, EPOCH, 7, A)).toBe('duplicate');
  });

  it("QoS 2 receipt applied, its answer lost: undone by its token, the retry is 'new' so the message is routed [MQTT-4.3.3-10]", async () => {
    fault({ kind: 'lost-response', command: 'PutItem', where: (i) => keyOf(i).startsWith('in#') });
    await expect(store.receiveQos2(client, EPOCH, 7, A, 'rq-1')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await itemExists('in#00007')).toBe(true);
    fault({ kind: 'sdk-retry', command: 'DeleteItem', where: (i) => keyOf(i).startsWith('in#') });
    await store.forgetQos2(client, EPOCH, 7, 'rq-1'); // its own resend finds nothing left: not an error
    expect(faulty.injected).toHaveLength(2);
    expect(await store.receiveQos2(client, EPOCH, 7, A, 'rq-2')).toBe('new');
  });

  it('QoS 2 receipt not applied, for the resend of a routed PUBLISH: the undo leaves the original\'s receipt, the resend stays a duplicate [MQTT-4.3.3-10]', async () => {
    expect(await store.receiveQos2(client, EPOCH, 7, A, 'rq-original')).toBe('new');
    fault({ kind: 'before', command: 'PutItem', where: (i) => keyOf(i).startsWith('in#') });
    await expect(store.receiveQos2(client, EPOCH, 7, B, 'rq-resend')).rejects.toMatchObject({ name: 'TimeoutError' });
    await store.forgetQos2(client, EPOCH, 7, 'rq-resend');
    expect(await store.receiveQos2(client, EPOCH, 7, B, 'rq-again')).toBe('duplicate');
  });

  it("QoS 2 release: a retried PUBREL write is still 'released' [MQTT-4.3.3-12]", async () => {
    await store.receiveQos2(client, EPOCH, 7, A);
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: (i) => keyOf(i).startsWith('in#') });
    expect(await store.releaseQos2(client, EPOCH, 7, B)).toBe('released');
    expect(faulty.injected).toHaveLength(1);
  });

  it('enqueue: a retried queue slot counts once, so the bound and the drain stay exact', async () => {
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: updates('queueTail') });
    expect(await store.enqueue(client, EPOCH, message('q/0'), 2)).toMatchObject({ outcome: 'queued' });
    expect(await store.enqueue(client, EPOCH, message('q/1'), 2)).toMatchObject({ outcome: 'queued' });
    expect(await store.enqueue(client, EPOCH, message('q/2'), 2)).toEqual({ outcome: 'full' });
    expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['q/0', 'q/1']);
    // The queue is empty, so a new message need not wait behind it [MQTT-4.6.0-5].
    expect(await store.reserve(client, EPOCH, 10, { behindQueue: true })).toMatchObject({ outcome: 'reserved' });
  });

  it('enqueue rerun with the same request token (a retried delivery step) takes one slot, after a failed message write', async () => {
    fault({ kind: 'before', command: 'PutItem', where: (i) => keyOf(i).startsWith('q#') });
    await expect(store.enqueue(client, EPOCH, message('q/0'), 2, { requestToken: 'copy-1' })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await store.enqueue(client, EPOCH, message('q/0'), 2, { requestToken: 'copy-1' })).toMatchObject({ outcome: 'queued' });
    expect(await store.enqueue(client, EPOCH, message('q/1'), 2)).toMatchObject({ outcome: 'queued' });
    expect(await store.enqueue(client, EPOCH, message('q/2'), 2)).toEqual({ outcome: 'full' });
    expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['q/0', 'q/1']);
    expect(await store.reserve(client, EPOCH, 10, { behindQueue: true })).toMatchObject({ outcome: 'reserved' });
  });

  for (const rerun of ['with its slot noted', 'by its token alone'] as const) {
    it(`enqueue: its message put applied, answer lost, run again ${rerun} while a drain holds the message between its take and its slot release: queued once`, async () => {
      fault({ kind: 'lost-response', command: 'PutItem', where: (i) => keyOf(i).startsWith('q#') });
      const slot = {};
      const options = rerun === 'by its token alone' ? { requestToken: 'copy-1' } : { requestToken: 'copy-1', slot };
      await expect(store.enqueue(client, EPOCH, message('q/0'), 10, options)).rejects.toMatchObject({ name: 'TimeoutError' });
      const hold = holdFirstUpdate(new MeteredDynamoDb(faulty.client), isSlotRelease);
      const drain = new DynamoMessageStore(hold.db, table, { clock: time.clock });
      const r = reserved(await drain.reserve(client, EPOCH, 10));
      const taking = drain.dequeue(client, EPOCH, { ...r, keep: true });
      await vi.waitFor(() => expect(hold.isHeld()).toBe(true));
      expect(await store.enqueue(client, EPOCH, message('q/0'), 10, options)).toMatchObject({ outcome: 'queued' });
      hold.letGo();
      expect((await taking)?.packet.topic).toBe('q/0');
      expect(await store.takeQueued(client, EPOCH, 10)).toEqual([]);
    });
  }

  for (const take of ['takeQueued', 'dequeue'] as const) {
    it(`enqueue: its message put not sent, a later message put and taken by a drain (${take}) before the rerun: the rerun still queues it (not lost) [MQTT-4.3.2-1]`, async () => {
      fault({ kind: 'before', command: 'PutItem', where: (i) => keyOf(i).startsWith('q#') });
      const slot = {};
      await expect(store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1', slot })).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(await store.enqueue(client, EPOCH, message('q/1'), 10, { requestToken: 'copy-2' })).toMatchObject({ outcome: 'queued' });
      if (take === 'takeQueued') {
        expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['q/1']);
      } else {
        expect((await store.dequeue(client, EPOCH, { ...reserved(await store.reserve(client, EPOCH, 10)), keep: true }))?.packet.topic).toBe('q/1');
      }
      expect(await store.enqueue(client, EPOCH, message('q/0'), 10, { requestToken: 'copy-1', slot })).toMatchObject({ outcome: 'queued' });
      expect((await store.takeQueued(client, EPOCH, 10)).map((m) => m.packet.topic)).toEqual(['q/0']);
    });
  }

  it('enqueue: a take mark of an earlier session under the same sequence does not stop a rerun of a newer session\'s enqueue (not lost)', async () => {
    await store.enqueue(client, A, message('old'), 10);
    expect((await store.takeQueued(client, A, 10)).map((m) => m.packet.topic)).toEqual(['old']);
    fault({ kind: 'before', command: 'PutItem', where: (i) => keyOf(i).startsWith('q#') });
    const slot = {};
    await expect(store.enqueue(client, B, message('new'), 10, { requestToken: 'copy-b', slot })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await store.enqueue(client, B, message('new'), 10, { requestToken: 'copy-b', slot })).toMatchObject({ outcome: 'queued' });
    expect((await store.takeQueued(client, B, 10)).map((m) => m.packet.topic)).toEqual(['new']);
  });

  it('takeQueued: a retried take still returns the message (not lost), and gives back its slot once', async () => {
    await store.enqueue(client, EPOCH, message('q/0'), 2);
    await store.enqueue(client, EPOCH, message('q/1'), 2);
    fault({ kind: 'sdk-retry', command: 'TransactWriteItems' });
    fault({ kind: 'sdk-retry', command: 'DeleteItem', where: (i) => keyOf(i).startsWith('q#') });
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: updates('queued') });
    expect((await store.takeQueued(client, EPOCH, 1)).map((m) => m.packet.topic)).toEqual(['q/0']);
    expect(await store.enqueue(client, EPOCH, message('q/2'), 2)).toMatchObject({ outcome: 'queued' });
    expect(await store.enqueue(client, EPOCH, message('q/3'), 2)).toEqual({ outcome: 'full' });
  });

  it('complete: a retried ack still reports the queue, so it drains', async () => {
    const r = reserved(await store.reserve(client, EPOCH, 1));
    await store.enqueue(client, EPOCH, message('q/0'), 10);
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: updates('ids') });
    expect(await store.complete(client, EPOCH, r.packetId, { stored: false })).toEqual({ queued: 1 });
    expect(faulty.injected).toHaveLength(1);
  });

  it('reserve: a retried reservation takes one slot [MQTT-3.3.4-9]', async () => {
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: updates('ids') });
    const r = reserved(await store.reserve(client, EPOCH, 2));
    expect(faulty.injected).toHaveLength(1);
    reserved(await store.reserve(client, EPOCH, 2));
    await store.complete(client, EPOCH, r.packetId, { stored: false });
    reserved(await store.reserve(client, EPOCH, 2));
  });

  it('openGate: a retried opening is still opened', async () => {
    await store.holdGate(client, EPOCH, 'conn-b');
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: updates('gate') });
    expect(await store.openGate(client, EPOCH, 'conn-b', 10)).toBe('opened');
  });

  it('holdGate, closeGate, putInflight, released: a resend changes nothing more (writes that are idempotent as they are)', async () => {
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: updates('gate') });
    expect(await store.holdGate(client, EPOCH, 'conn-b')).toEqual({ queued: 0 });
    const r = reserved(await store.reserve(client, EPOCH, 10, { to: 'conn-b', resuming: true }));
    fault({ kind: 'sdk-retry', command: 'PutItem', where: (i) => keyOf(i).startsWith('out#') });
    await store.putInflight(client, EPOCH, { ...message('m'), packetId: r.packetId, sequence: r.sequence, stage: 'publish' });
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: (i) => keyOf(i).startsWith('out#') });
    await store.released(client, EPOCH, r.packetId);
    expect((await store.inflight(client, EPOCH)).map((m) => [m.packetId, m.stage])).toEqual([[r.packetId, 'pubrel']]);
    fault({ kind: 'sdk-retry', command: 'UpdateItem', where: updates('gate') });
    await store.closeGate(client, EPOCH, 'conn-b');
    expect(await store.enqueue(client, EPOCH, message('q'), 10)).toEqual({ outcome: 'queued', gate: { state: 'closed' } });
    expect(faulty.injected).toHaveLength(4);
  });

  it('complete: cut short after its first write, a rerun finishes it and leaves no message in flight', async () => {
    const r = reserved(await store.reserve(client, EPOCH, 1));
    await store.putInflight(client, EPOCH, { ...message('m'), packetId: r.packetId, sequence: r.sequence, stage: 'publish' });
    fault({ kind: 'before', command: 'DeleteItem' });
    await expect(store.complete(client, EPOCH, r.packetId)).rejects.toMatchObject({ name: 'TimeoutError' });
    faulty.clear();
    await store.complete(client, EPOCH, r.packetId);
    expect(await itemExists(`out#${String(r.packetId).padStart(5, '0')}`)).toBe(false);
    reserved(await store.reserve(client, EPOCH, 1));
  });

  it('dequeue: retried, or its response lost, the message is in flight under the reservation, never lost [MQTT-4.4.0-1]', async () => {
    await store.enqueue(client, EPOCH, message('q/0'), 10);
    await store.enqueue(client, EPOCH, message('q/1'), 10);
    const r0 = reserved(await store.reserve(client, EPOCH, 10));
    fault({ kind: 'sdk-retry', command: 'TransactWriteItems' });
    expect((await store.dequeue(client, EPOCH, { ...r0, keep: true }))?.packet.topic).toBe('q/0');
    const r1 = reserved(await store.reserve(client, EPOCH, 10));
    fault({ kind: 'lost-response', command: 'TransactWriteItems' });
    await expect(store.dequeue(client, EPOCH, { ...r1, keep: true })).rejects.toMatchObject({ name: 'TimeoutError' });
    const inflight = await store.inflight(client, EPOCH);
    expect(inflight.map((m) => [m.packet.topic, m.packetId])).toEqual([
      ['q/0', r0.packetId],
      ['q/1', r1.packetId],
    ]);
    expect(await store.takeQueued(client, EPOCH, 10)).toEqual([]);
  });

  it('dequeue: rerun by the drain after its response was lost, with the queue now empty, answers the message in flight (the slot is not freed) [MQTT-4.4.0-1]', async () => {
    await store.enqueue(client, EPOCH, message('only'), 10);
    const r = reserved(await store.reserve(client, EPOCH, 10));
    fault({ kind: 'lost-response', command: 'TransactWriteItems' });
    await expect(store.dequeue(client, EPOCH, { ...r, keep: true })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect((await store.dequeue(client, EPOCH, { ...r, keep: true, rerun: true }))?.packet.topic).toBe('only');
  });
});
