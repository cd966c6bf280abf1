/** All in-memory adapters, for unit tests of the broker and the handlers. */
export { MemoryConnectionStore } from './connection-store';
export { MemorySessionStore } from './session-store';
export { MemorySubscriptionStore } from './subscription-store';
export { MemoryRetainedStore } from './retained-store';
export { MemoryMessageStore } from './message-store';
export { MemoryAuthStore } from './auth-store';
