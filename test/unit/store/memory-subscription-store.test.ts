import { MemorySubscriptionStore } from '../../../lib/store/memory/subscription-store';
import { subscriptionStoreContract } from './subscription-store.contract';

subscriptionStoreContract('memory', (clock) => new MemorySubscriptionStore({ clock }));
