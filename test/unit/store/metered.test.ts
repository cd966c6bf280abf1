/** MeteredDynamoDb's bookkeeping, on a stub client that answers with fixed ConsumedCapacity. */
import {
  ConditionalCheckFailedException,
  TransactionConflictException,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { MeteredDynamoDb, type CapacityReporting } from '../../../lib/store/dynamodb/metered';
import { CountingMeter } from '../../../lib/store/meter';

function stub(answer: () => unknown) {
  const sent: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      sent.push(command.input);
      return answer();
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}

function metered(answer: () => unknown, capacityReporting: CapacityReporting = 'aws') {
  const meter = new CountingMeter();
  const { client, sent } = stub(answer);
  return { db: new MeteredDynamoDb(client, { meter, capacityReporting }), meter, sent };
}

const put = (table: string): TransactWriteItem => ({ Put: { TableName: table, Item: { k: { S: 'x' } } } });

describe('MeteredDynamoDb', () => {
  it('sends a single-item write again after a TransactionConflictException (not applied), up to 4 tries', async () => {
    let calls = 0;
    const conflict = () => new TransactionConflictException({ message: 'conflict', $metadata: {} });
    const { db, sent } = metered(() => {
      calls += 1;
      if (calls < 3) throw conflict();
      return {};
    });
    await db.updateItem({ TableName: 't', Key: {} });
    expect(sent).toHaveLength(3);
    const always = metered(() => {
      throw conflict();
    });
    await expect(always.db.putItem({ TableName: 't', Item: {} })).rejects.toBeInstanceOf(TransactionConflictException);
    expect(always.sent).toHaveLength(4);
  });

  it('always asks for ReturnConsumedCapacity TOTAL', async () => {
    const { db, sent } = metered(() => ({}));
    await db.getItem({ TableName: 't', Key: {} });
    await db.putItem({ TableName: 't', Item: {} });
    await db.updateItem({ TableName: 't', Key: {} });
    await db.deleteItem({ TableName: 't', Key: {} });
    await db.query({ TableName: 't' });
    await db.transactWriteItems({ TransactItems: [] });
    expect(sent.map((input) => (input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity)).toEqual(
      Array(6).fill('TOTAL'),
    );
  });

  it('attributes CapacityUnits to reads or writes by operation', async () => {
    const { db, meter } = metered(() => ({ ConsumedCapacity: { TableName: 't', CapacityUnits: 2 } }));
    await db.getItem({ TableName: 't', Key: {} });
    await db.putItem({ TableName: 't', Item: {} });
    expect(meter.take().entries).toEqual([
      { operation: 'GetItem', table: 't', readUnits: 2, writeUnits: 0 },
      { operation: 'PutItem', table: 't', readUnits: 0, writeUnits: 2 },
    ]);
  });

  it('prefers explicit read and write units when DynamoDB gives them', async () => {
    const { db, meter } = metered(() => ({
      ConsumedCapacity: { TableName: 't', CapacityUnits: 3, ReadCapacityUnits: 1, WriteCapacityUnits: 2 },
    }));
    await db.updateItem({ TableName: 't', Key: {} });
    expect(meter.take().entries).toEqual([{ operation: 'UpdateItem', table: 't', readUnits: 1, writeUnits: 2 }]);
  });

  it('counts an estimated write unit when a condition fails, and rethrows', async () => {
    const failure = new ConditionalCheckFailedException({ message: 'failed', $metadata: {} });
    const { db, meter } = metered(() => {
      throw failure;
    });
    await expect(db.updateItem({ TableName: 't', Key: {} })).rejects.toBe(failure);
    expect(meter.take().entries).toEqual([
      { operation: 'UpdateItem', table: 't', readUnits: 0, writeUnits: 1, estimated: true },
    ]);
  });

  it('records nothing for other errors (not billed)', async () => {
    const { db, meter } = metered(() => {
      throw new Error('network');
    });
    await expect(db.putItem({ TableName: 't', Item: {} })).rejects.toThrow('network');
    expect(meter.take().requests).toBe(0);
  });

  it('on AWS, takes transactional units as reported', async () => {
    const { db, meter } = metered(() => ({ ConsumedCapacity: [{ TableName: 'a', CapacityUnits: 4 }] }), 'aws');
    await db.transactWriteItems({ TransactItems: [put('a'), put('a')] });
    expect(meter.take().entries).toEqual([{ operation: 'TransactWriteItems', table: 'a', readUnits: 0, writeUnits: 4 }]);
  });

  it('against DynamoDB Local, bills at least 2 units per transactional item, per table', async () => {
    const { db, meter } = metered(
      () => ({
        ConsumedCapacity: [
          { TableName: 'a', CapacityUnits: 2 },
          { TableName: 'b', CapacityUnits: 6 },
        ],
      }),
      'dynamodb-local',
    );
    await db.transactWriteItems({ TransactItems: [put('a'), put('a'), put('a'), put('b')] });
    expect(meter.take().entries).toEqual([
      { operation: 'TransactWriteItems', table: 'a', readUnits: 0, writeUnits: 6, estimated: true },
      { operation: 'TransactWriteItems', table: 'b', readUnits: 0, writeUnits: 6 },
    ]);
  });
});
