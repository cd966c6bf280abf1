/**
 * The `sessions` item codec. The will is one map attribute: topic (S), payload (B), qos (N),
 * retain (BOOL) and the v5 properties as a JSON string in which binary values (Correlation Data,
 * Authentication Data) are `{"$b64": "..."}`. JSON keeps array order, so User Properties round-trip
 * in order [MQTT-3.3.2-18].
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Item } from './marshal';
import type { Properties, QoS } from '../../mqtt/types';
import type { SessionRecord, Will } from '../session-port';
import { num, numOneOf, optional, recordCodec, required, str, type AttributeCodec } from './marshal';

export type SessionItem = SessionRecord & { sweepShard?: string };

const qos = numOneOf<QoS>([0, 1, 2]);

export const willCodec: AttributeCodec<Will> = {
  encode(will) {
    const map: Record<string, AttributeValue> = {
      topic: { S: will.topic },
      payload: { B: will.payload },
      qos: qos.encode(will.qos),
      retain: { BOOL: will.retain },
    };
    if (will.properties !== undefined) map.properties = { S: encodeProperties(will.properties) };
    return { M: map };
  },
  decode(attribute) {
    const m = attribute.M;
    if (m === undefined) return undefined;
    const topic = m.topic?.S;
    const payload = m.payload?.B;
    const q = m.qos && qos.decode(m.qos);
    const retain = m.retain?.BOOL;
    if (topic === undefined || payload === undefined || q === undefined || retain === undefined) return undefined;
    const will: Will = { topic, payload: new Uint8Array(payload), qos: q, retain };
    if (m.properties?.S !== undefined) will.properties = decodeProperties(m.properties.S);
    return will;
  },
};

function encodeProperties(properties: Properties): string {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (value === undefined) continue;
    plain[key] = value instanceof Uint8Array ? { $b64: Buffer.from(value).toString('base64') } : value;
  }
  return JSON.stringify(plain);
}

function decodeProperties(json: string): Properties {
  const plain = JSON.parse(json) as Record<string, unknown>;
  for (const [key, value] of Object.entries(plain)) {
    if (value !== null && typeof value === 'object' && '$b64' in value) {
      plain[key] = new Uint8Array(Buffer.from(String((value as { $b64: unknown }).$b64), 'base64'));
    }
  }
  return plain as Properties;
}

export const sessionCodec = recordCodec<SessionItem>('sessions', {
  clientId: required(str),
  connectionId: optional(str),
  ownerConnectionId: required(str),
  ownerRequestTimeEpoch: required(num),
  principal: optional(str),
  protocolVersion: required(numOneOf([3, 4, 5])),
  sessionExpiryInterval: required(num),
  sessionEpoch: required(str),
  createdAt: required(num),
  disconnectedAt: optional(num),
  will: optional(willCodec),
  willDueAt: optional(num),
  sweepShard: optional(str),
  expiresAt: required(num),
});

/** The record without the index bookkeeping. */
export function sessionRecord(item: SessionItem): SessionRecord {
  const { sweepShard: _shard, ...record } = item;
  return record;
}

/** The record of an item (undefined for none, or the empty item of ReturnValues on a missing one). */
export function decodeSession(item: Item | undefined): SessionRecord | undefined {
  return item === undefined || Object.keys(item).length === 0 ? undefined : sessionRecord(sessionCodec.fromItem(item));
}
