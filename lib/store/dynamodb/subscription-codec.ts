/**
 * The `subscriptions` item codec and keys. An item is the record plus its keys:
 * - `routeKey` = `routeKey(topicFilter)` of lib/mqtt/topic.ts: the filter's first two levels, or
 *   its literal levels before its first wildcard then '+' (a `$share/{group}/{f}` record is
 *   routed by its topic filter `f`). Never empty: a filter has at least one level before depth 2,
 *   and '/a' gives '/a';
 * - `subKey` = clientId + NUL + filter as sent, so a shared and a non-shared subscription to one
 *   topic filter are two items. NUL never occurs in an MQTT UTF-8 string [MQTT-1.5.4-2].
 * - `filter` (the byClient index's sort key) = the filter as sent.
 * Each of the three is bounded to DynamoDB's key limits (./route-key `boundedKey`): a long filter
 * is stored hashed there, and read back from `topicFilter` and `shareName`, which hold it whole.
 * The subscriber's connection is one map attribute.
 */
import { parseSharedSubscription, routeKey } from '../../mqtt/topic';
import { TopicFilterInvalidError } from '../../mqtt/errors';
import type { QoS } from '../../mqtt/types';
import { TABLE_SCHEMAS } from '../schema';
import { boundedKey, isBoundedKey, storedRouteKey } from './route-key';
import type { SubscriberConnection, SubscriptionRecord } from '../subscription-port';
import { bool, num, numOneOf, optional, recordCodec, required, str, strOneOf, type AttributeCodec, type Item } from './marshal';

export const ROUTE_KEY = TABLE_SCHEMAS.subscriptions.partitionKey.name;
export const SUB_KEY = TABLE_SCHEMAS.subscriptions.sortKey?.name ?? 'subKey';

type SubscriptionItem = SubscriptionRecord & { routeKey: string; subKey: string };

const subscriberCodec = recordCodec<SubscriberConnection>('subscriptions.connection', {
  connectionId: required(str),
  protocolVersion: required(numOneOf([3, 4, 5])),
  mode: required(strOneOf(['text', 'binary'])),
  receiveMaximum: optional(num),
  maximumPacketSize: optional(num),
});

export const connectionAttribute: AttributeCodec<SubscriberConnection> = {
  encode: (connection) => ({ M: subscriberCodec.toItem(connection) }),
  decode: (attribute) => (attribute.M === undefined ? undefined : subscriberCodec.fromItem(attribute.M)),
};

const itemCodec = recordCodec<SubscriptionItem>('subscriptions', {
  routeKey: required(str),
  subKey: required(str),
  clientId: required(str),
  filter: required(str),
  topicFilter: required(str),
  shareName: optional(str),
  qos: required(numOneOf<QoS>([0, 1, 2])),
  noLocal: required(bool),
  retainAsPublished: required(bool),
  retainHandling: required(numOneOf([0, 1, 2])),
  subscriptionIdentifier: optional(num),
  sessionEpoch: required(str),
  persistent: required(bool),
  connection: optional(connectionAttribute),
  expiresAt: required(num),
});

function subKeyOf(clientId: string, filter: string): string {
  return boundedKey(`${clientId}\u0000${filter}`);
}

/**
 * The route key of a filter as sent (`$share/...` included), or undefined when it is not a valid
 * shared subscription (no record can exist for it).
 */
export function routeKeyOfFilter(filter: string): string | undefined {
  try {
    return storedRouteKey(routeKey(parseSharedSubscription(filter)?.topicFilter ?? filter));
  } catch (error) {
    if (error instanceof TopicFilterInvalidError) return undefined;
    throw error;
  }
}

export function subscriptionKey(routeKey: string, clientId: string, filter: string): Item {
  return { [ROUTE_KEY]: { S: routeKey }, [SUB_KEY]: { S: subKeyOf(clientId, filter) } };
}

/** The key of a stored record (routed by its topic filter). */
export function recordKey(record: SubscriptionRecord): Item {
  return subscriptionKey(storedRouteKey(routeKey(record.topicFilter)), record.clientId, record.filter);
}

export function toSubscriptionItem(record: SubscriptionRecord): Item {
  return itemCodec.toItem({
    ...record,
    routeKey: storedRouteKey(routeKey(record.topicFilter)),
    subKey: subKeyOf(record.clientId, record.filter),
    filter: boundedKey(record.filter),
  });
}

export function fromSubscriptionItem(item: Item): SubscriptionRecord {
  const { routeKey: _route, subKey: _sub, ...record } = itemCodec.fromItem(item);
  if (!isBoundedKey(record.filter)) return record;
  // stored hashed: the filter as sent is `$share/{ShareName}/` + the topic filter, or the topic filter
  const filter = record.shareName === undefined ? record.topicFilter : `$share/${record.shareName}/${record.topicFilter}`;
  return { ...record, filter };
}
