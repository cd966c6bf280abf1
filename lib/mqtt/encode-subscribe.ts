/**
 * Encoding of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK.
 */

import { vbiLength, type Writer } from './bytes';
import { checkPacketId, checkQoS, checkReasonCode, REASON_CODE_SPEC } from './checks';
import { isValidV4SubackCode } from './decode-subscribe';
import type { EncodeSizes } from './encode-connect';
import { ProtocolViolationError } from './errors';
import { propertiesLength, writeProperties } from './properties';
import type {
  ProtocolVersion, SubackPacket, SubscribePacket, Subscription, UnsubackPacket, UnsubscribePacket,
} from './types';
import { stringFieldLength } from './utf8';

const CTX_SUBSCRIBE = 8;
const CTX_SUBACK = 9;
const CTX_UNSUBSCRIBE = 10;
const CTX_UNSUBACK = 11;

function propsLength(version: ProtocolVersion, props: number): number {
  return version === 5 ? vbiLength(props) + props : 0;
}

export function subscribeLength(p: SubscribePacket, version: ProtocolVersion, sizes: EncodeSizes): number {
  checkPacketId(p.packetId); // [MQTT-2.2.1-3]
  const subs = p.subscriptions;
  if (subs.length === 0) {
    throw new ProtocolViolationError('SUBSCRIBE without a topic filter', { specRef: 'MQTT-3.8.3-3' });
  }
  if (version === 5) sizes.props = propertiesLength(p.properties, CTX_SUBSCRIBE);
  let len = 2 + propsLength(version, sizes.props);
  for (let i = 0; i < subs.length; i++) {
    const s = subs[i];
    checkQoS(s.qos, 'MQTT-3.8.3-4');
    const rh = s.retainHandling ?? 0;
    if (version === 5 && rh !== 0 && rh !== 1 && rh !== 2) {
      throw new ProtocolViolationError('retain handling must be 0, 1 or 2', { specRef: 'MQTT 5.0 section 3.8.3.1' });
    }
    len += stringFieldLength(s.topicFilter) + 1;
  }
  return len;
}

/** Subscription Options: QoS only in v3/v4; v5 adds No Local, Retain As Published, Retain Handling. */
function optionsByte(s: Subscription, version: ProtocolVersion): number {
  if (version !== 5) return s.qos;
  return s.qos | (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | ((s.retainHandling ?? 0) << 4);
}

export function writeSubscribe(w: Writer, p: SubscribePacket, version: ProtocolVersion, sizes: EncodeSizes): void {
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, sizes.props);
  for (const s of p.subscriptions) {
    w.utf8(s.topicFilter);
    w.u8(optionsByte(s, version));
  }
}

export function subackLength(p: SubackPacket, version: ProtocolVersion, sizes: EncodeSizes): number {
  checkPacketId(p.packetId); // [MQTT-2.2.1-3]
  const codes = p.reasonCodes;
  if (codes.length === 0) throw new ProtocolViolationError('SUBACK without a return code', { specRef: 'MQTT-3.9.3-1' });
  for (const code of codes) {
    if (version === 5) checkReasonCode('suback', code, REASON_CODE_SPEC.suback);
    else if (!isValidV4SubackCode(code)) {
      throw new ProtocolViolationError('invalid SUBACK return code', { specRef: 'MQTT-3.9.3-2' });
    }
  }
  if (version === 5) sizes.props = propertiesLength(p.properties, CTX_SUBACK);
  return 2 + propsLength(version, sizes.props) + codes.length;
}

export function writeSuback(w: Writer, p: SubackPacket, version: ProtocolVersion, sizes: EncodeSizes): void {
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, sizes.props);
  for (const code of p.reasonCodes) w.u8(code);
}

export function unsubscribeLength(p: UnsubscribePacket, version: ProtocolVersion, sizes: EncodeSizes): number {
  checkPacketId(p.packetId); // [MQTT-2.2.1-3]
  const filters = p.topicFilters;
  if (filters.length === 0) {
    throw new ProtocolViolationError('UNSUBSCRIBE without a topic filter', { specRef: 'MQTT-3.10.3-2' });
  }
  if (version === 5) sizes.props = propertiesLength(p.properties, CTX_UNSUBSCRIBE);
  let len = 2 + propsLength(version, sizes.props);
  for (const f of filters) len += stringFieldLength(f);
  return len;
}

export function writeUnsubscribe(w: Writer, p: UnsubscribePacket, version: ProtocolVersion, sizes: EncodeSizes): void {
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, sizes.props);
  for (const f of p.topicFilters) w.utf8(f);
}

/** v3/v4 UNSUBACK carries only the packet identifier; `reasonCodes` is not written. */
export function unsubackLength(p: UnsubackPacket, version: ProtocolVersion, sizes: EncodeSizes): number {
  checkPacketId(p.packetId); // [MQTT-2.2.1-3]
  if (version !== 5) return 2;
  const codes = p.reasonCodes;
  if (codes.length === 0) {
    throw new ProtocolViolationError('UNSUBACK without a reason code', { specRef: 'MQTT-3.11.3-1' });
  }
  for (const code of codes) checkReasonCode('unsuback', code, REASON_CODE_SPEC.unsuback);
  sizes.props = propertiesLength(p.properties, CTX_UNSUBACK);
  return 2 + propsLength(version, sizes.props) + codes.length;
}

export function writeUnsuback(w: Writer, p: UnsubackPacket, version: ProtocolVersion, sizes: EncodeSizes): void {
  w.u16(p.packetId);
  if (version !== 5) return;
  writeProperties(w, p.properties, sizes.props);
  for (const code of p.reasonCodes) w.u8(code);
}
