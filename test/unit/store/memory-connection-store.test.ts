import { MemoryConnectionStore } from '../../../lib/store/memory/connection-store';
import { connectionStoreContract } from './connection-store.contract';

connectionStoreContract('memory', (clock) => new MemoryConnectionStore({ clock }));
