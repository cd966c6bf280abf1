/** Pure parts of the DynamoDB adapter: client configuration, table definitions, expressions. */
import { describe, expect, it } from 'vitest';
import { dynamoDbClientConfig, LOCAL_CREDENTIALS, capacityReportingFor } from '../../../lib/store/dynamodb/client';
import { ExpressionBuilder } from '../../../lib/store/dynamodb/expressions';
import { createTableInput } from '../../../lib/store/dynamodb/tables';
import { TABLE_SCHEMAS, type TableSchema } from '../../../lib/store/schema';

describe('dynamoDbClientConfig', () => {
  it('on AWS: SDK credentials and region, short timeouts, bounded attempts', () => {
    const config = dynamoDbClientConfig();
    expect(config.endpoint).toBeUndefined();
    expect(config.credentials).toBeUndefined();
    expect(config.region).toBeUndefined();
    expect(config.maxAttempts).toBe(3);
    expect(config.requestHandler).toMatchObject({ connectionTimeout: 1000, requestTimeout: 3000 });
  });

  it('with an endpoint override: dummy credentials and a region, so none are needed locally', () => {
    const config = dynamoDbClientConfig({ endpoint: 'http://127.0.0.1:8000' });
    expect(config.endpoint).toBe('http://127.0.0.1:8000');
    expect(config.credentials).toEqual(LOCAL_CREDENTIALS);
    expect(config.region).toBe('us-east-1');
  });

  it('takes explicit options', () => {
    const config = dynamoDbClientConfig({ region: 'eu-west-1', maxAttempts: 5, requestTimeoutMs: 900 });
    expect(config).toMatchObject({ region: 'eu-west-1', maxAttempts: 5 });
    expect(config.requestHandler).toMatchObject({ requestTimeout: 900 });
  });

  it('treats an endpoint override as DynamoDB Local for capacity reporting', () => {
    expect(capacityReportingFor(undefined)).toBe('aws');
    expect(capacityReportingFor('http://127.0.0.1:8000')).toBe('dynamodb-local');
  });
});

describe('createTableInput', () => {
  it('builds an on-demand table from a schema', () => {
    expect(createTableInput(TABLE_SCHEMAS.connections, 'p-connections')).toEqual({
      TableName: 'p-connections',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
    });
  });

  it('declares sort keys and index keys once each', () => {
    const schema: TableSchema = {
      id: 'sessions',
      description: 'test',
      partitionKey: { name: 'pk', type: 'S' },
      sortKey: { name: 'sk', type: 'N' },
      ttlAttribute: 'expiresAt',
      globalSecondaryIndexes: [
        { indexName: 'byOwner', partitionKey: { name: 'owner', type: 'S' }, sortKey: { name: 'sk', type: 'N' }, projection: ['a'] },
        { indexName: 'keys', partitionKey: { name: 'pk', type: 'S' }, projection: 'KEYS_ONLY' },
      ],
    };
    const input = createTableInput(schema, 't');
    expect(input.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(input.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'N' },
      { AttributeName: 'owner', AttributeType: 'S' },
    ]);
    expect(input.GlobalSecondaryIndexes?.map((i) => i.Projection)).toEqual([
      { ProjectionType: 'INCLUDE', NonKeyAttributes: ['a'] },
      { ProjectionType: 'KEYS_ONLY' },
    ]);
  });
});

describe('ExpressionBuilder', () => {
  it('puts every name and value behind a placeholder', () => {
    const x = new ExpressionBuilder();
    const update = x.set({ status: { S: 'mqtt' }, keepAlive: { N: '60' } });
    const condition = `${x.name('status')} = ${x.value({ S: 'open' })}`;
    expect(update).toBe('SET #status = :v0, #keepAlive = :v1');
    expect(condition).toBe('#status = :v2');
    expect(x.attributes()).toEqual({
      ExpressionAttributeNames: { '#status': 'status', '#keepAlive': 'keepAlive' },
      ExpressionAttributeValues: { ':v0': { S: 'mqtt' }, ':v1': { N: '60' }, ':v2': { S: 'open' } },
    });
  });

  it('leaves empty parts out', () => {
    expect(new ExpressionBuilder().attributes()).toEqual({});
  });
});
