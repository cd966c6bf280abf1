import { MemorySessionStore } from '../../../lib/store/memory/session-store';
import { MemorySubscriptionStore } from '../../../lib/store/memory/subscription-store';
import { subscriptionKeyLimitContract } from './subscription-store-keys.contract';
import { subscriptionSessionContract } from './subscription-store-sessions.contract';
import { subscriptionStoreContract } from './subscription-store.contract';

subscriptionStoreContract('memory', (clock) => new MemorySubscriptionStore({ clock }));
subscriptionKeyLimitContract('memory', (clock) => new MemorySubscriptionStore({ clock }));
subscriptionSessionContract('memory', (clock) => {
  const sessions = new MemorySessionStore({ clock });
  return { sessions, subscriptions: new MemorySubscriptionStore({ clock, sessions }) };
});
