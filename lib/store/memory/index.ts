/** All in-memory adapters, for unit tests of the broker and the handlers. */
import type { Clock } from '../clock';
import type { Stores } from '../ports';
import { MemoryConnectionStore } from './connection-store';
import { MemorySessionStore } from './session-store';
import { MemorySubscriptionStore } from './subscription-store';
import { MemoryRetainedStore } from './retained-store';
import { MemoryMessageStore } from './message-store';
import { MemoryAuthStore } from './auth-store';

export { MemoryConnectionStore } from './connection-store';
export { MemorySessionStore } from './session-store';
export { MemorySubscriptionStore } from './subscription-store';
export { MemoryRetainedStore } from './retained-store';
export { MemoryMessageStore } from './message-store';
export { MemoryAuthStore } from './auth-store';

export function memoryStores(options: { clock?: Clock } = {}): Stores {
  return {
    connections: new MemoryConnectionStore(options),
    sessions: new MemorySessionStore(options),
    subscriptions: new MemorySubscriptionStore(options),
    retained: new MemoryRetainedStore(options),
    messages: new MemoryMessageStore(options),
    auth: new MemoryAuthStore(),
  };
}
