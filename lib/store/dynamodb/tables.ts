/**
 * Creating the tables of lib/store/schema.ts on a DynamoDB endpoint: local mode and the tests.
 * (On AWS the CDK stack builds them from the same schemas.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type KeySchemaElement,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMAS, type IndexSchema, type KeyAttribute, type TableId, type TableSchema } from '../schema';

export type TableNames = Partial<Record<TableId, string>>;

export interface EnsureTablesOptions {
  /** How long to wait for each table to become ACTIVE, ms (default 60000) */
  timeoutMs?: number;
}

/** The CreateTable request for a schema: on-demand, keys and indexes as declared. */
export function createTableInput(schema: TableSchema, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  const define = (key: KeyAttribute) => attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  const keySchema = (pk: KeyAttribute, sk?: KeyAttribute): KeySchemaElement[] => {
    define(pk);
    if (sk) define(sk);
    return sk
      ? [{ AttributeName: pk.name, KeyType: 'HASH' }, { AttributeName: sk.name, KeyType: 'RANGE' }]
      : [{ AttributeName: pk.name, KeyType: 'HASH' }];
  };
  const input: CreateTableCommandInput = {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keySchema(schema.partitionKey, schema.sortKey),
  };
  if (schema.globalSecondaryIndexes?.length) {
    input.GlobalSecondaryIndexes = schema.globalSecondaryIndexes.map((index: IndexSchema) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: projection(index.projection),
    }));
  }
  input.AttributeDefinitions = [...attributes.values()];
  return input;
}

function projection(p: IndexSchema['projection']): Projection {
  if (p === 'ALL' || p === 'KEYS_ONLY') return { ProjectionType: p };
  return { ProjectionType: 'INCLUDE', NonKeyAttributes: [...p] };
}

/**
 * Creates the named tables if they do not exist, waits until they are ACTIVE and enables TTL on
 * `expiresAt`. Idempotent, also when several processes run it at once.
 */
export async function ensureTables(
  client: DynamoDBClient,
  names: TableNames,
  options: EnsureTablesOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ids = Object.keys(names) as TableId[];
  await Promise.all(ids.map((id) => ensureTable(client, TABLE_SCHEMAS[id], names[id] as string, timeoutMs)));
}

async function ensureTable(client: DynamoDBClient, schema: TableSchema, name: string, timeoutMs: number) {
  try {
    await client.send(new CreateTableCommand(createTableInput(schema, name)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilActive(client, name, timeoutMs);
  await ensureTimeToLive(client, name, schema.ttlAttribute);
}

async function waitUntilActive(client: DynamoDBClient, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${name} not ACTIVE after ${timeoutMs} ms (${Table?.TableStatus})`);
    await sleep(250);
  }
}

async function ensureTimeToLive(client: DynamoDBClient, name: string, attribute: string): Promise<void> {
  const ttlEnabled = async () => {
    const { TimeToLiveDescription: d } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    return d?.AttributeName === attribute && (d.TimeToLiveStatus === 'ENABLED' || d.TimeToLiveStatus === 'ENABLING');
  };
  if (await ttlEnabled()) return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    // A concurrent ensureTables enabled it first ("TimeToLive is already enabled").
    if (!(await ttlEnabled())) throw error;
  }
}

/** Deletes the named tables; missing ones are fine. For test cleanup. */
export async function deleteTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    Object.values(names).map(async (name) => {
      try {
        await client.send(new DeleteTableCommand({ TableName: name }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    }),
  );
}
