/**
 * A stored subscription as the SUBSCRIBE path writes it (QoS 1, epoch-1, persistent, an hour of
 * TTL), for tests that write records to a store directly. A `$share/{name}/{filter}` filter is
 * split into its share name and topic filter, as the broker stores it.
 */
import { parseSharedSubscription } from '../../lib/mqtt/topic';
import type { SubscriptionRecord } from '../../lib/store/subscription-port';

export function subscriptionRecord(clientId: string, filter: string, overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const shared = parseSharedSubscription(filter);
  return {
    clientId,
    filter,
    topicFilter: shared?.topicFilter ?? filter,
    ...(shared && { shareName: shared.shareName }),
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    sessionEpoch: 'epoch-1',
    persistent: true,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
    ...overrides,
  };
}
