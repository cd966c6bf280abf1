/**
 * All DynamoDB adapters over one client and one meter. Lambda entry points call this once, at
 * module scope, with the table names from the validated configuration.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../clock';
import type { Meter } from '../meter';
import type { Stores } from '../ports';
import type { TableId } from '../schema';
import { DynamoConnectionStore } from './connection-store';
import { MeteredDynamoDb, type CapacityReporting } from './metered';
import { DynamoSessionStore } from './session-store';
import { DynamoSubscriptionStore } from './subscription-store';
import { DynamoRetainedStore } from './retained-store';
import { DynamoMessageStore } from './message-store';
import { DynamoAuthStore } from './auth-store';

export { DynamoConnectionStore } from './connection-store';
export { DynamoSessionStore } from './session-store';
export { DynamoAuthStore } from './auth-store';
export { MeteredDynamoDb } from './metered';
export { capacityReportingFor, createDynamoDbClient, sharedDynamoDbClient } from './client';
export { ensureTables } from './tables';

export interface DynamoStoresOptions {
  client: DynamoDBClient;
  /** Physical table names, e.g. RuntimeConfig.tables or tableNamesForPrefix(prefix) */
  tables: Record<TableId, string>;
  meter?: Meter;
  /** 'dynamodb-local' with an endpoint override (capacityReportingFor); default 'aws' */
  capacityReporting?: CapacityReporting;
  clock?: Clock;
  /** TTL of the message items, seconds: messageTtlSeconds(the broker's maximum session expiry) */
  messageTtlSeconds?: number;
}

export function dynamoStores(options: DynamoStoresOptions): Stores {
  const db = new MeteredDynamoDb(options.client, {
    meter: options.meter,
    capacityReporting: options.capacityReporting,
  });
  const clock = options.clock;
  return {
    connections: new DynamoConnectionStore(db, options.tables.connections, { clock }),
    sessions: new DynamoSessionStore(db, options.tables.sessions, { clock }),
    subscriptions: new DynamoSubscriptionStore(db, options.tables.subscriptions, { clock, sessionsTable: options.tables.sessions }),
    retained: new DynamoRetainedStore(db, options.tables.retained, { clock }),
    messages: new DynamoMessageStore(db, options.tables.messages, { clock, ttlSeconds: options.messageTtlSeconds }),
    auth: new DynamoAuthStore(db, options.tables.auth),
  };
}
