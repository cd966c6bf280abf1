import { DescribeTimeToLiveCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ensureTables } from '../../../lib/store/dynamodb/tables';
import { TABLE_IDS } from '../../../lib/store/schema';
import { useDynamoTables } from '../../helpers/dynamodb';

const db = await useDynamoTables();

describe('useDynamoTables', () => {
  it('creates every table of the schema under a prefix unique to this file', async () => {
    const { TableNames = [] } = await db.client.send(new ListTablesCommand({}));
    for (const id of TABLE_IDS) {
      expect(db.names[id].startsWith(db.prefix)).toBe(true);
      expect(TableNames).toContain(db.names[id]);
    }
  });

  it('enables TTL on expiresAt', async () => {
    const { TimeToLiveDescription } = await db.client.send(
      new DescribeTimeToLiveCommand({ TableName: db.names.connections }),
    );
    expect(TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
  });

  it('builds every store on these tables, metered', async () => {
    const stores = db.stores();
    db.meter.reset();
    expect(await stores.connections.get('nobody')).toBeUndefined();
    expect(db.meter.take().byTable).toEqual({ [db.names.connections]: { requests: 1, readUnits: 1, writeUnits: 0 } });
  });

  it('ensureTables is idempotent, also when run concurrently', async () => {
    await Promise.all([ensureTables(db.client, db.names), ensureTables(db.client, db.names)]);
    await expect(ensureTables(db.client, db.names)).resolves.toBeUndefined();
  });
});
