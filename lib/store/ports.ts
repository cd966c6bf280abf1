/**
 * Storage ports: the interfaces the broker core's effects are carried out through. Each port has
 * an in-memory adapter (lib/store/memory) for unit tests and a DynamoDB adapter (lib/store/dynamodb),
 * and one contract suite that both pass.
 *
 * Conventions for every port:
 * - records are plain data; times are epoch milliseconds except `expiresAt` (epoch seconds, TTL);
 * - an item whose `expiresAt` has passed is invisible to every read, because TTL deletes late;
 * - races are settled by conditional writes and surface as the domain errors of ./errors.
 */
import type { ConnectionStore } from './connection-port';
import type { ConnectionScan } from './scan';
import type { SubscriptionStore } from './subscription-port';
import type { RetainedStore } from './retained-port';
import type { MessageStore } from './message-port';
import type { SessionStore } from './session-port';
import type { AuthStore } from './auth-port';

export type * from './connection-port';
export type * from './session-port';

/** Every port, as the handlers receive them. New ports are added here and in dynamoStores (./dynamodb). */
export interface Stores {
  connections: ConnectionStore & ConnectionScan;
  sessions: SessionStore;
  subscriptions: SubscriptionStore;
  retained: RetainedStore;
  messages: MessageStore;
  auth: AuthStore;
}
