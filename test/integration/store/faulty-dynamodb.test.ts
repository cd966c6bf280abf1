/** The fault-injecting client (test/helpers/faulty-dynamodb.ts) does what it says, on DynamoDB Local. */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { useDynamoTables } from '../../helpers/dynamodb';
import { FaultyDynamoDb } from '../../helpers/faulty-dynamodb';

const db = await useDynamoTables({ tables: ['retained'] });
const table = db.names.retained;

describe('FaultyDynamoDb', () => {
  const key = (id: string) => ({ routeKey: { S: id }, topic: { S: 'x' } });
  const bump = (id: string) =>
    new UpdateItemCommand({ TableName: table, Key: key(id), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } });
  const count = async (id: string) => Number((await db.client.send(new GetItemCommand({ TableName: table, Key: key(id), ConsistentRead: true }))).Item?.n?.N ?? 0);

  it('sdk-retry applies the request twice and answers the second attempt', async () => {
    const faulty = new FaultyDynamoDb(db.client).inject({ kind: 'sdk-retry', command: 'UpdateItem' });
    await faulty.client.send(bump('a'));
    expect(await count('a')).toBe(2);
    expect(faulty.injected).toEqual([{ kind: 'sdk-retry', command: 'UpdateItem', table }]);
  });

  it('lost-response applies the request, then throws a TimeoutError', async () => {
    const faulty = new FaultyDynamoDb(db.client).inject({ kind: 'lost-response', command: 'UpdateItem' });
    await expect(faulty.client.send(bump('b'))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await count('b')).toBe(1);
  });

  it('before throws a TimeoutError without sending', async () => {
    const faulty = new FaultyDynamoDb(db.client).inject({ kind: 'before', command: 'UpdateItem' });
    await expect(faulty.client.send(bump('c'))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await count('c')).toBe(0);
  });

  it('fires on the nth matching call, for `times` calls, and only on matching commands', async () => {
    const faulty = new FaultyDynamoDb(db.client).inject({ kind: 'before', command: 'UpdateItem', nth: 2, times: 2 });
    await faulty.client.send(new PutItemCommand({ TableName: table, Item: { ...key('d'), n: { N: '0' } } }));
    await faulty.client.send(bump('d'));
    await expect(faulty.client.send(bump('d'))).rejects.toThrow();
    await expect(faulty.client.send(bump('d'))).rejects.toThrow();
    await faulty.client.send(bump('d'));
    expect(await count('d')).toBe(2);
  });
});
