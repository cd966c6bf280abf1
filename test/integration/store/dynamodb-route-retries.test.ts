/**
 * The subscription and retained adapters when AWS retries (issue 13 defect 1), on DynamoDB Local
 * through the fault-injecting client: a write whose response is lost and which the SDK sends
 * again ('sdk-retry') must still report what it did, and a step rerun after a lost response
 * ('lost-response') must reach the same end state.
 */
import { randomUUID } from 'node:crypto';
import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRetainedStore } from '../../../lib/store/dynamodb/retained-store';
import { DynamoSessionStore } from '../../../lib/store/dynamodb/session-store';
import { DynamoSubscriptionStore } from '../../../lib/store/dynamodb/subscription-store';
import { MeteredDynamoDb } from '../../../lib/store/dynamodb/metered';
import type { RetainedRecord } from '../../../lib/store/retained-port';
import type { SubscriptionRecord } from '../../../lib/store/subscription-port';
import { useDynamoTables } from '../../helpers/dynamodb';
import { FaultyDynamoDb } from '../../helpers/faulty-dynamodb';

const db = await useDynamoTables({ tables: ['subscriptions', 'sessions', 'retained'] });

let faulty: FaultyDynamoDb;
let subscriptions: DynamoSubscriptionStore;
let retained: DynamoRetainedStore;
let sessions: DynamoSessionStore;

beforeEach(() => {
  faulty = new FaultyDynamoDb(db.client);
  const metered = new MeteredDynamoDb(faulty.client);
  subscriptions = new DynamoSubscriptionStore(metered, db.names.subscriptions, { sessionsTable: db.names.sessions });
  retained = new DynamoRetainedStore(metered, db.names.retained);
  sessions = new DynamoSessionStore(new MeteredDynamoDb(db.client), db.names.sessions);
});

async function owner(clientId: string) {
  const connectionId = `conn-${randomUUID()}`;
  const { sessionEpoch } = await sessions.claim({
    clientId,
    connectionId,
    cleanStart: true,
    protocolVersion: 5,
    sessionExpiryInterval: 3600,
    requestTimeEpoch: Date.now(),
  });
  return { sessionEpoch, connectionId };
}

const record = (clientId: string, filter: string, writer: { sessionEpoch: string; connectionId: string }): SubscriptionRecord => ({
  clientId,
  filter,
  topicFilter: filter,
  qos: 1,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
  sessionEpoch: writer.sessionEpoch,
  persistent: true,
  connection: { connectionId: writer.connectionId, protocolVersion: 5, mode: 'text' },
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
});

describe('subscriptions under retries (issue 13 defect 1)', () => {
  it.each(['sdk-retry', 'lost-response'] as const)('SUBSCRIBE (put for the session) under %s: stored once, rerun is harmless', async (kind) => {
    const c = `client-${randomUUID()}`;
    const writer = await owner(c);
    faulty.inject({ kind, command: 'TransactWriteItems' });
    const put = subscriptions.put([record(c, 'a/+', writer), record(c, `long/${'x'.repeat(1500)}`, writer)], writer);
    if (kind === 'sdk-retry') await put;
    else await expect(put).rejects.toMatchObject({ name: 'TimeoutError' });
    await subscriptions.put([record(c, 'a/+', writer)], writer); // the step's rerun
    expect((await subscriptions.listByClient(c)).map((r) => r.filter)).toEqual(['a/+', `long/${'x'.repeat(1500)}`]);
    expect(faulty.injected).toHaveLength(1);
  });

  it('UNSUBSCRIBE (delete for the session) under sdk-retry succeeds', async () => {
    const c = `client-${randomUUID()}`;
    const writer = await owner(c);
    await subscriptions.put([record(c, 'a', writer), record(c, 'b', writer)], writer);
    faulty.inject({ kind: 'sdk-retry', command: 'TransactWriteItems' });
    await subscriptions.delete(c, ['a'], writer);
    expect((await subscriptions.listByClient(c)).map((r) => r.filter)).toEqual(['b']);
  });

  it('setExpiry and deleteAll under sdk-retry reach their end state', async () => {
    const c = `client-${randomUUID()}`;
    const writer = await owner(c);
    await subscriptions.put([record(c, 'a', writer)], writer);
    const later = Math.floor(Date.now() / 1000) + 7200;
    faulty.inject({ kind: 'sdk-retry', command: 'UpdateItem' });
    await subscriptions.setExpiry(c, writer.sessionEpoch, later);
    expect((await subscriptions.listByClient(c))[0].expiresAt).toBe(later);
    faulty.inject({ kind: 'sdk-retry', command: 'DeleteItem' });
    await subscriptions.deleteAll(c, { through: writer.sessionEpoch });
    expect(await subscriptions.listByClient(c)).toEqual([]);
  });
});

/**
 * The real client, except that its first `times` TransactWriteItems are cancelled for a conflict
 * before being sent, as DynamoDB cancels a transaction that meets a concurrent write of one of
 * its items (DynamoDB Local does not produce these).
 */
function conflictingClient(real: DynamoDBClient, times: number): DynamoDBClient {
  let left = times;
  const send = async (command: { constructor: { name: string } }) => {
    if (command.constructor.name === 'TransactWriteItemsCommand' && left-- > 0) {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled [None, TransactionConflict]',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
      });
    }
    return real.send(command as never);
  };
  return new Proxy(real, { get: (target, key, receiver) => (key === 'send' ? send : Reflect.get(target, key, receiver)) });
}

describe('subscriptions under transaction conflicts', () => {
  it('a SUBSCRIBE cancelled by conflicts with concurrent writes is tried again and stored', async () => {
    const c = `client-${randomUUID()}`;
    const writer = await owner(c);
    const store = new DynamoSubscriptionStore(new MeteredDynamoDb(conflictingClient(db.client, 2)), db.names.subscriptions, {
      sessionsTable: db.names.sessions,
    });
    await store.put([record(c, 'a', writer)], writer);
    expect((await subscriptions.listByClient(c)).map((r) => r.filter)).toEqual(['a']);
  });

  it('gives up after a few attempts: the error reaches the caller, nothing is written', async () => {
    const c = `client-${randomUUID()}`;
    const writer = await owner(c);
    const store = new DynamoSubscriptionStore(new MeteredDynamoDb(conflictingClient(db.client, 100)), db.names.subscriptions, {
      sessionsTable: db.names.sessions,
    });
    await expect(store.put([record(c, 'a', writer)], writer)).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(await subscriptions.listByClient(c)).toEqual([]);
  });
});

describe('retained messages under retries (issue 13 defect 1)', () => {
  const message = (topic: string, requestTimeEpoch: number): RetainedRecord => ({
    topic,
    payload: new TextEncoder().encode('m'),
    qos: 1,
    requestTimeEpoch,
    receivedAt: requestTimeEpoch,
    messageExpiresAt: null,
  });

  it("[MQTT-3.3.1-5] a put whose first attempt was applied is 'written', not taken for a newer write", async () => {
    const topic = `r-${randomUUID()}/a`;
    faulty.inject({ kind: 'sdk-retry', command: 'PutItem' });
    expect(await retained.put(message(topic, 1000))).toBe('written');
    expect(await retained.put(message(topic, 999))).toBe('stale'); // a real race is still lost
  });

  it("[MQTT-3.3.1-6] a delete whose first attempt was applied is 'written'", async () => {
    const topic = `r-${randomUUID()}/a`;
    await retained.put(message(topic, 1000));
    faulty.inject({ kind: 'sdk-retry', command: 'PutItem' });
    expect(await retained.delete(topic, 1001)).toBe('written');
    expect(await retained.get(topic)).toBeUndefined();
  });
});
