/**
 * Decoding of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK.
 */

import { Reader } from './bytes';
import { checkPacketId, checkReasonCode, REASON_CODE_SPEC } from './checks';
import { MalformedPacketError, ProtocolViolationError } from './errors';
import { decodeProperties } from './properties';
import type {
  ProtocolVersion, QoS, SubackPacket, SubscribePacket, Subscription, UnsubackPacket, UnsubscribePacket,
} from './types';

const CTX_SUBSCRIBE = 8;
const CTX_SUBACK = 9;
const CTX_UNSUBSCRIBE = 10;
const CTX_UNSUBACK = 11;

/** Subscription Options byte (v5 section 3.8.3.1; in v3/v4 only the QoS bits exist). */
function readSubscription(r: Reader, version: ProtocolVersion): Subscription {
  const topicFilter = r.utf8();
  const options = r.u8();
  const qos = options & 0x03;
  if (qos === 3) throw new MalformedPacketError('subscription QoS 3', { specRef: 'MQTT-3.8.3-4' });
  if (version !== 5) {
    if ((options & 0xfc) !== 0) {
      throw new MalformedPacketError('reserved subscription bits set', { specRef: 'MQTT-3.8.3-4' });
    }
    return { topicFilter, qos: qos as QoS };
  }
  if ((options & 0xc0) !== 0) {
    throw new MalformedPacketError('reserved subscription option bits set', { specRef: 'MQTT-3.8.3-5' });
  }
  const retainHandling = (options >> 4) & 0x03;
  if (retainHandling === 3) {
    throw new ProtocolViolationError('retain handling 3', { specRef: 'MQTT 5.0 section 3.8.3.1' });
  }
  return {
    topicFilter,
    qos: qos as QoS,
    noLocal: (options & 0x04) !== 0,
    retainAsPublished: (options & 0x08) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
  };
}

export function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packetId = r.u16();
  checkPacketId(packetId); // [MQTT-2.2.1-3]
  const properties = version === 5 ? decodeProperties(r, CTX_SUBSCRIBE) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining() > 0) subscriptions.push(readSubscription(r, version));
  if (subscriptions.length === 0) {
    throw new ProtocolViolationError('SUBSCRIBE without a topic filter', { specRef: 'MQTT-3.8.3-3' });
  }
  const packet: SubscribePacket = { type: 'subscribe', packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** v3/v4 SUBACK return codes: 0, 1, 2 or 0x80 [MQTT-3.9.3-2]. */
export function isValidV4SubackCode(code: number): boolean {
  return code <= 2 || code === 0x80;
}

export function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packetId = r.u16();
  checkPacketId(packetId); // [MQTT-2.2.1-3]
  const properties = version === 5 ? decodeProperties(r, CTX_SUBACK) : undefined;
  const reasonCodes: number[] = [];
  while (r.remaining() > 0) {
    const code = r.u8();
    if (version === 5) checkReasonCode('suback', code, REASON_CODE_SPEC.suback);
    else if (!isValidV4SubackCode(code)) {
      throw new ProtocolViolationError('invalid SUBACK return code', { specRef: 'MQTT-3.9.3-2' });
    }
    reasonCodes.push(code);
  }
  if (reasonCodes.length === 0) throw new ProtocolViolationError('SUBACK without a return code', { specRef: 'MQTT-3.9.3-1' });
  const packet: SubackPacket = { type: 'suback', packetId, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packetId = r.u16();
  checkPacketId(packetId); // [MQTT-2.2.1-3]
  const properties = version === 5 ? decodeProperties(r, CTX_UNSUBSCRIBE) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining() > 0) topicFilters.push(r.utf8());
  if (topicFilters.length === 0) {
    throw new ProtocolViolationError('UNSUBSCRIBE without a topic filter', { specRef: 'MQTT-3.10.3-2' });
  }
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** UNSUBACK: only a packet identifier in v3/v4 (reasonCodes []); v5 adds properties and codes. */
export function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packetId = r.u16();
  checkPacketId(packetId); // [MQTT-2.2.1-3]
  const packet: UnsubackPacket = { type: 'unsuback', packetId, reasonCodes: [] };
  if (version !== 5) {
    r.done();
    return packet;
  }
  const properties = decodeProperties(r, CTX_UNSUBACK);
  if (properties !== undefined) packet.properties = properties;
  while (r.remaining() > 0) {
    const code = r.u8();
    checkReasonCode('unsuback', code, REASON_CODE_SPEC.unsuback);
    packet.reasonCodes.push(code);
  }
  if (packet.reasonCodes.length === 0) {
    throw new ProtocolViolationError('UNSUBACK without a reason code', { specRef: 'MQTT-3.11.3-1' });
  }
  return packet;
}
