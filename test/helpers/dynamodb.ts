/**
 * DynamoDB tables for one test file. Call at the top level of a test file:
 *
 *   const db = await useDynamoTables();
 *   const { connections } = db.stores();      // the DynamoDB adapters on this file's tables
 *   // also db.client, db.names.connections, db.endpoint, db.meter (CountingMeter), db.metered
 *
 * Each file gets its own table prefix, so files run in parallel against the one DynamoDB Local of
 * the run (test/global-setup.ts). The tables are deleted and the client destroyed after the file.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, inject } from 'vitest';
import { dynamoEndpointFromEnv } from '../../lib/local/dynamodb-local';
import { capacityReportingFor, createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { MeteredDynamoDb } from '../../lib/store/dynamodb/metered';
import { deleteTables, ensureTables } from '../../lib/store/dynamodb/tables';
import type { Clock } from '../../lib/store/clock';
import { dynamoStores } from '../../lib/store/dynamodb/index';
import { CountingMeter } from '../../lib/store/meter';
import type { Stores } from '../../lib/store/ports';
import { TABLE_IDS, tableNamesForPrefix, type TableId } from '../../lib/store/schema';

export interface DynamoTables {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** Physical table names of this file */
  readonly names: Record<TableId, string>;
  readonly prefix: string;
  /** A meter for this file; `metered` reports to it */
  readonly meter: CountingMeter;
  /** The client wrapped for metering, with the DynamoDB Local transaction correction */
  readonly metered: MeteredDynamoDb;
  /** Every DynamoDB adapter on this file's tables, reporting to `meter` */
  stores(options?: { clock?: Clock }): Stores;
}

export interface UseDynamoTablesOptions {
  /** Tables to create (default all of lib/store/schema.ts) */
  tables?: readonly TableId[];
  /** Keep the tables after the file (to inspect them); default false */
  keep?: boolean;
}

/** The endpoint of this test run: from the integration project's globalSetup, else DYNAMODB_ENDPOINT. */
export function dynamoDbEndpoint(): string {
  const endpoint = inject('dynamoDbEndpoint') ?? dynamoEndpointFromEnv();
  if (!endpoint) {
    throw new Error(
      'no DynamoDB endpoint: put this test under test/integration/ (its vitest project starts ' +
        'DynamoDB Local) or set DYNAMODB_ENDPOINT',
    );
  }
  return endpoint;
}

export async function useDynamoTables(options: UseDynamoTablesOptions = {}): Promise<DynamoTables> {
  const endpoint = dynamoDbEndpoint();
  const prefix = `t-${randomUUID().slice(0, 12)}-`;
  const all = tableNamesForPrefix(prefix);
  const ids = options.tables ?? TABLE_IDS;
  const created = Object.fromEntries(ids.map((id) => [id, all[id]])) as Partial<Record<TableId, string>>;
  const client = createDynamoDbClient({ endpoint });
  const meter = new CountingMeter();
  const capacityReporting = capacityReportingFor(endpoint);
  const metered = new MeteredDynamoDb(client, { meter, capacityReporting });
  const stores = (o: { clock?: Clock } = {}) =>
    dynamoStores({ client, tables: all, meter, capacityReporting, clock: o.clock });

  afterAll(async () => {
    try {
      if (!options.keep) await deleteTables(client, created);
    } finally {
      client.destroy();
    }
  });
  await ensureTables(client, created);
  return { endpoint, client, names: all, prefix, meter, metered, stores };
}
