import { MemoryRetainedStore } from '../../../lib/store/memory/retained-store';
import { retainedStoreContract } from './retained-store.contract';

retainedStoreContract('memory', (clock) => new MemoryRetainedStore({ clock }));
