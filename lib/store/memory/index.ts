/** All in-memory adapters, for unit tests of the broker and the handlers. */
import type { Clock } from '../clock';
import type { Stores } from '../ports';
import { MemoryConnectionStore } from './connection-store';
import { MemorySessionStore } from './session-store';

export { MemoryConnectionStore } from './connection-store';
export { MemorySessionStore } from './session-store';

export function memoryStores(options: { clock?: Clock } = {}): Stores {
  return { connections: new MemoryConnectionStore(options), sessions: new MemorySessionStore(options) };
}
