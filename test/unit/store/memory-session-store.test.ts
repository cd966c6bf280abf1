import { MemorySessionStore } from '../../../lib/store/memory/session-store';
import { sessionStoreContract } from './session-store.contract';

sessionStoreContract('memory', (clock) => new MemorySessionStore({ clock }));
