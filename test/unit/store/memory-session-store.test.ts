import { MemorySessionStore } from '../../../lib/store/memory/session-store';
import { sessionRetryContract } from './session-retry.contract';
import { sessionStoreContract } from './session-store.contract';

sessionStoreContract('memory', (clock) => new MemorySessionStore({ clock }));
sessionRetryContract('memory', (clock) => new MemorySessionStore({ clock }));
