import { MemorySubscriptionStore } from '../../../lib/store/memory/subscription-store';
import { subscriptionKeyLimitContract } from './subscription-store-keys.contract';
import { subscriptionStoreContract } from './subscription-store.contract';

subscriptionStoreContract('memory', (clock) => new MemorySubscriptionStore({ clock }));
subscriptionKeyLimitContract('memory', (clock) => new MemorySubscriptionStore({ clock }));
