/**
 * The DynamoDB tables, built by iterating over lib/store/schema.ts: a table added there appears
 * here, with its environment variable and its IAM grants, without touching this file.
 */
import { Construct } from 'constructs';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
  type Attribute,
  type GlobalSecondaryIndexProps,
} from 'aws-cdk-lib/aws-dynamodb';
import { TABLE_SCHEMAS, type IndexSchema, type KeyAttribute, type TableId, type TableSchema } from '../store/schema';
import type { ResolvedBrokerProps } from './props';

const ATTRIBUTE_TYPES: Record<KeyAttribute['type'], AttributeType> = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
};

function attribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: ATTRIBUTE_TYPES[key.type] };
}

function indexProps(index: IndexSchema): GlobalSecondaryIndexProps {
  const projection = index.projection;
  return {
    indexName: index.indexName,
    partitionKey: attribute(index.partitionKey),
    sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
    projectionType:
      projection === 'ALL' ? ProjectionType.ALL : projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.INCLUDE,
    nonKeyAttributes: typeof projection === 'string' ? undefined : [...projection],
  };
}

/** 'connections' -> 'Connections': construct ids and output names. */
export function pascalCase(id: string): string {
  return id.replace(/(^|[-_])([a-z0-9])/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

function createTable(scope: Construct, schema: TableSchema, config: ResolvedBrokerProps): Table {
  const table = new Table(scope, `${pascalCase(schema.id)}Table`, {
    partitionKey: attribute(schema.partitionKey),
    sortKey: schema.sortKey ? attribute(schema.sortKey) : undefined,
    billingMode: BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: schema.ttlAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: TableEncryption.AWS_MANAGED,
    deletionProtection: config.deletionProtection,
    removalPolicy: config.removalPolicy,
  });
  for (const index of schema.globalSecondaryIndexes ?? []) table.addGlobalSecondaryIndex(indexProps(index));
  return table;
}

/** One table per schema, keyed by table id. */
export function createTables(scope: Construct, config: ResolvedBrokerProps): Record<TableId, Table> {
  const tables = {} as Record<TableId, Table>;
  for (const schema of Object.values(TABLE_SCHEMAS)) tables[schema.id] = createTable(scope, schema, config);
  return tables;
}
