/**
 * The `retained` item codec. An item is keyed by the topic's first level (`routeKey`, see
 * ./route-key) and the topic (`topic`, bounded to the key limits by ./route-key `boundedKey`: a
 * long topic is stored hashed there and read back from the message), and holds either a message
 * or a tombstone (`deleted`):
 * - the message is one map attribute in the shape of a will (topic, payload as binary B, qos,
 *   retain, properties), written by the will codec of ./session-codec, so properties round-trip
 *   exactly as a will's do (User Properties in order, Correlation Data as bytes);
 * - `requestTimeEpoch` orders writes (last writer wins); `receivedAt`, `messageExpiresAt` (absent:
 *   never) as in the record;
 * - `expiresAt`, the TTL: a tombstone's short lifetime, or the end of the message's expiry. A
 *   message without expiry has none: it is kept until it is replaced or deleted [MQTT-3.3.1-5].
 */
import { topicLevels } from '../../mqtt/topic';
import type { Will } from '../../mqtt/types';
import type { RetainedRecord } from '../retained-port';
import { CorruptItemError } from '../errors';
import { bool, num, optional, recordCodec, required, str, type Item } from './marshal';
import { boundedKey, storedRouteKey } from './route-key';
import { willCodec } from './session-codec';

interface RetainedItem {
  routeKey: string;
  topic: string;
  requestTimeEpoch: number;
  deleted?: boolean;
  message?: Will;
  receivedAt?: number;
  messageExpiresAt?: number;
  expiresAt?: number;
}

const itemCodec = recordCodec<RetainedItem>('retained', {
  routeKey: required(str),
  topic: required(str),
  requestTimeEpoch: required(num),
  deleted: optional(bool),
  message: optional(willCodec),
  receivedAt: optional(num),
  messageExpiresAt: optional(num),
  expiresAt: optional(num),
});

/** The partition of a topic name or of a filter's first level, as stored. */
export function retainedRouteKey(topicOrFilter: string): string {
  return storedRouteKey(topicLevels(topicOrFilter)[0]);
}

export function retainedItem(record: RetainedRecord): Item {
  const message: Will = { topic: record.topic, payload: record.payload, qos: record.qos, retain: true };
  if (record.properties !== undefined) message.properties = record.properties;
  return itemCodec.toItem({
    routeKey: retainedRouteKey(record.topic),
    topic: boundedKey(record.topic),
    requestTimeEpoch: record.requestTimeEpoch,
    message,
    receivedAt: record.receivedAt,
    ...(record.messageExpiresAt !== null && {
      messageExpiresAt: record.messageExpiresAt,
      expiresAt: Math.ceil(record.messageExpiresAt / 1000),
    }),
  });
}

export function tombstoneItem(topic: string, requestTimeEpoch: number, expiresAt: number): Item {
  return itemCodec.toItem({ routeKey: retainedRouteKey(topic), topic: boundedKey(topic), requestTimeEpoch, deleted: true, expiresAt });
}

/** The item's message with its TTL, or undefined for a tombstone. */
export function fromRetainedItem(item: Item): { record: RetainedRecord; expiresAt?: number } | undefined {
  const decoded = itemCodec.fromItem(item);
  if (decoded.deleted === true) return undefined;
  const { message, receivedAt } = decoded;
  if (message === undefined || receivedAt === undefined) {
    throw new CorruptItemError('retained', `${decoded.topic} has neither a message nor a tombstone`);
  }
  const record: RetainedRecord = {
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    requestTimeEpoch: decoded.requestTimeEpoch,
    receivedAt,
    messageExpiresAt: decoded.messageExpiresAt ?? null,
  };
  if (message.properties !== undefined) record.properties = message.properties;
  return decoded.expiresAt === undefined ? { record } : { record, expiresAt: decoded.expiresAt };
}
