/**
 * `stratus dev --store memory`: local mode on the in-memory adapters of lib/store/memory, which
 * pass the same contract suites as the DynamoDB adapters. The handlers, the gateway, the delivery
 * over `@connections` and the sweeper are the same; only the stores differ. No Java, no tables to
 * create: it starts at once. State lives in the broker's process and goes with it, so the admin
 * commands (`stratus user|acl|sessions|retained`), which reach the tables from another process,
 * have nothing to talk to.
 */
import { runtimeOverStores } from '../runtime/deps';
import type { Stores } from '../store/ports';
import {
  MemoryAuthStore,
  MemoryConnectionStore,
  MemoryMessageStore,
  MemoryRetainedStore,
  MemorySessionStore,
  MemorySubscriptionStore,
} from '../store/memory';
import type { LocalStorage } from './storage';

/** Shown where a DynamoDB endpoint would be. */
export const MEMORY_STORE_ENDPOINT = 'memory:';

/** A fresh set of in-memory stores on the system clock. */
export function memoryStores(): Stores {
  const sessions = new MemorySessionStore();
  return {
    connections: new MemoryConnectionStore(),
    sessions,
    // Its session-scoped writes are checked against the session's epoch and owner (issue 13).
    subscriptions: new MemorySubscriptionStore({ sessions }),
    retained: new MemoryRetainedStore(),
    messages: new MemoryMessageStore(),
    auth: new MemoryAuthStore(),
  };
}

/** Local storage over `stores` (fresh in-memory ones by default), for `startLocalBroker({ storage })`. */
export function memoryStorage(stores: Stores = memoryStores()): LocalStorage {
  return {
    endpoint: MEMORY_STORE_ENDPOINT,
    createRuntime: (setup) => runtimeOverStores(stores, setup),
    stop: async () => undefined,
  };
}
