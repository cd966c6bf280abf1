import { MemoryAuthStore } from '../../../lib/store/memory/auth-store';
import { authStoreContract } from './auth-store.contract';

authStoreContract('memory', () => new MemoryAuthStore());
