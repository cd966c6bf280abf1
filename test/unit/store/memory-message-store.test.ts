import { MemoryMessageStore } from '../../../lib/store/memory/message-store';
import { messageStoreContract } from './message-store.contract';

messageStoreContract('memory', (clock, options) => new MemoryMessageStore({ clock, ...options }));
