/** The metered DynamoDB requester against DynamoDB Local: units as reported, transactions corrected. */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { useDynamoTables } from '../../helpers/dynamodb';

const db = await useDynamoTables();

describe('MeteredDynamoDb', () => {
  beforeEach(() => db.meter.reset());

  it('reports the units DynamoDB returns, by item size', async () => {
    const connectionId = randomUUID();
    await db.metered.putItem({
      TableName: db.names.connections,
      Item: { connectionId: { S: connectionId }, pad: { S: 'x'.repeat(2500) } },
    });
    await db.metered.query({
      TableName: db.names.connections,
      KeyConditionExpression: 'connectionId = :id',
      ExpressionAttributeValues: { ':id': { S: connectionId } },
    });
    expect(db.meter.take().entries).toEqual([
      { operation: 'PutItem', table: db.names.connections, readUnits: 0, writeUnits: 3 },
      { operation: 'Query', table: db.names.connections, readUnits: 0.5, writeUnits: 0 },
    ]);
  });

  it('bills transactional writes at 2 units per item, correcting what DynamoDB Local reports', async () => {
    await db.metered.transactWriteItems({
      TransactItems: [
        { Put: { TableName: db.names.connections, Item: { connectionId: { S: randomUUID() } } } },
        { Put: { TableName: db.names.connections, Item: { connectionId: { S: randomUUID() } } } },
        { Put: { TableName: db.names.sessions, Item: { clientId: { S: randomUUID() } } } },
      ],
    });
    const snapshot = db.meter.take();
    expect(snapshot.byTable).toEqual({
      [db.names.connections]: { requests: 1, readUnits: 0, writeUnits: 4 },
      [db.names.sessions]: { requests: 1, readUnits: 0, writeUnits: 2 },
    });
    expect(snapshot.byOperation.TransactWriteItems.writeUnits).toBe(6);
  });
});
