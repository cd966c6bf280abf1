/**
 * What the admin commands read and write, as ports: the auth store, the session, connection and
 * retained stores with the whole-table listings only the CLI needs, and `@connections` DELETE.
 * `openAdminStores` builds them on DynamoDB for a resolved target; unit tests pass memory ones.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { classifyFailure } from '../../gateway/delivery';
import type { AuthStore } from '../../store/auth-port';
import { DynamoRetainedList, DynamoSessionList } from '../../store/dynamodb/admin-scan';
import { DynamoAuthStore } from '../../store/dynamodb/auth-store';
import { createDynamoDbClient, capacityReportingFor, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../store/dynamodb/client';
import { DynamoConnectionStore } from '../../store/dynamodb/connection-store';
import { MeteredDynamoDb } from '../../store/dynamodb/metered';
import { DynamoRetainedStore } from '../../store/dynamodb/retained-store';
import { migrateRouteKeys, type RouteMigration } from '../../store/dynamodb/route-migration';
import { DynamoSessionStore } from '../../store/dynamodb/session-store';
import type { ConnectionStore } from '../../store/ports';
import type { RetainedRecord, RetainedStore } from '../../store/retained-port';
import type { SessionRecord, SessionStore } from '../../store/session-port';
import { AdminFailureError } from './errors';
import type { Target } from './target';

export interface SessionListing {
  /** Every live session, sorted by client id (a Scan). */
  list(): Promise<SessionRecord[]>;
}

export interface RetainedListing {
  /** Every live retained message, `$` topics included, sorted by topic (a Scan). */
  list(): Promise<RetainedRecord[]>;
}

/** The outcome of closing a connection: closed now, or already gone (410). */
export type DisconnectOutcome = 'closed' | 'gone';

export interface AdminStores {
  readonly auth: AuthStore;
  readonly sessions: Pick<SessionStore, 'get'> & SessionListing;
  readonly connections: Pick<ConnectionStore, 'get'>;
  readonly retained: Pick<RetainedStore, 'get' | 'delete' | 'matching'> & RetainedListing;
  readonly subscriptions: {
    /** Moves subscriptions stored under 0.1's route keys to the current ones (a Scan). */
    migrateRoutes(): Promise<RouteMigration>;
  };
  /**
   * Closes a live connection through the `@connections` DELETE of the target.
   * @throws AdminFailureError if the target has no `@connections` endpoint
   */
  disconnect(connectionId: string): Promise<DisconnectOutcome>;
  /** Releases the clients. */
  close(): Promise<void>;
}

export type OpenStores = (target: Target) => Promise<AdminStores>;

export const NO_MANAGEMENT_ENDPOINT =
  'no @connections endpoint known for local mode: start the broker with npm start, or pass --management-endpoint';

/** The DynamoDB adapters on the target's tables, and its `@connections` API. */
export async function openAdminStores(target: Target): Promise<AdminStores> {
  const client = createDynamoDbClient(target.dynamodb);
  const db = new MeteredDynamoDb(client, { capacityReporting: capacityReportingFor(target.dynamodb.endpoint) });
  const { tables } = target;
  const sessionStore = new DynamoSessionStore(db, tables.sessions);
  const sessionList = new DynamoSessionList(db, tables.sessions);
  const retainedStore = new DynamoRetainedStore(db, tables.retained);
  const retainedList = new DynamoRetainedList(db, tables.retained);
  let management: ApiGatewayManagementApiClient | undefined;
  return {
    auth: new DynamoAuthStore(db, tables.auth),
    sessions: { get: (id) => sessionStore.get(id), list: () => sessionList.list() },
    connections: new DynamoConnectionStore(db, tables.connections),
    retained: {
      get: (topic, now) => retainedStore.get(topic, now),
      delete: (topic, at) => retainedStore.delete(topic, at),
      matching: (filter, now) => retainedStore.matching(filter, now),
      list: () => retainedList.list(),
    },
    subscriptions: { migrateRoutes: () => migrateRouteKeys(db, tables.subscriptions) },
    disconnect: async (connectionId) => {
      management ??= managementClientFor(target);
      return deleteConnection(management, connectionId);
    },
    close: async () => {
      client.destroy();
      management?.destroy();
    },
  };
}

function managementClientFor(target: Target): ApiGatewayManagementApiClient {
  const endpoint = target.managementEndpoint;
  if (endpoint === undefined) throw new AdminFailureError(NO_MANAGEMENT_ENDPOINT);
  return new ApiGatewayManagementApiClient(
    target.kind === 'local'
      ? { endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS }, maxAttempts: 2 }
      : { endpoint, region: target.region, maxAttempts: 2 },
  );
}

/** DELETE @connections/{id}: 'closed', or 'gone' if the gateway no longer knows it (410). */
export async function deleteConnection(
  client: Pick<ApiGatewayManagementApiClient, 'send'>,
  connectionId: string,
): Promise<DisconnectOutcome> {
  try {
    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    return 'closed';
  } catch (error) {
    if (classifyFailure(error) === 'gone') return 'gone';
    throw error;
  }
}
