/**
 * Encoding of CONNECT and CONNACK: a length pass that validates and records the property block
 * sizes in `sizes`, then a write pass into the exactly-sized buffer.
 */

import { vbiLength, type Writer } from './bytes';
import { binaryFieldLength, checkQoS, checkReasonCode, checkUint, REASON_CODE_SPEC } from './checks';
import { MalformedPacketError, ProtocolViolationError, UnsupportedProtocolVersionError } from './errors';
import { propertiesLength, writeProperties } from './properties';
import type { ConnackPacket, ConnectPacket, ProtocolVersion } from './types';
import { stringFieldLength } from './utf8';

/** Property block content lengths computed by a length pass, reused by the write pass. */
export interface EncodeSizes {
  props: number;
  willProps: number;
}

const CTX_WILL = 0;
const CTX_CONNECT = 1;
const CTX_CONNACK = 2;

/** 'MQIsdp' goes with level 3, 'MQTT' with 4 and 5 [MQTT-3.1.2-1, MQTT-3.1.2-2]. */
function checkProtocol(p: ConnectPacket): void {
  const v = p.protocolVersion;
  const ok = p.protocolName === 'MQIsdp' ? v === 3 : p.protocolName === 'MQTT' && (v === 4 || v === 5);
  if (!ok) throw new UnsupportedProtocolVersionError('protocol name and level disagree', { specRef: 'MQTT-3.1.2-2' });
}

/** Remaining Length of a CONNECT; its own protocolVersion decides the layout. */
export function connectLength(p: ConnectPacket, sizes: EncodeSizes): number {
  checkProtocol(p);
  const v5 = p.protocolVersion === 5;
  checkUint(p.keepAlive, 0xffff, 'keep alive');
  let len = 2 + p.protocolName.length + 1 + 1 + 2 + stringFieldLength(p.clientId);
  if (v5) {
    sizes.props = propertiesLength(p.properties, CTX_CONNECT);
    len += vbiLength(sizes.props) + sizes.props;
  }
  const will = p.will;
  if (will !== undefined) {
    checkQoS(will.qos, 'MQTT-3.1.2-12'); // (3.1.1: [MQTT-3.1.2-14])
    len += stringFieldLength(will.topic) + binaryFieldLength(will.payload, 'will payload');
    if (v5) {
      sizes.willProps = propertiesLength(will.properties, CTX_WILL);
      len += vbiLength(sizes.willProps) + sizes.willProps;
    }
  }
  if (p.username !== undefined) len += stringFieldLength(p.username);
  if (p.password !== undefined) {
    if (p.username === undefined && !v5) {
      throw new MalformedPacketError('password without user name', { specRef: '3.1.1: MQTT-3.1.2-22' });
    }
    len += binaryFieldLength(p.password, 'password');
  }
  return len;
}

function connectFlags(p: ConnectPacket): number {
  let flags = p.clean ? 0x02 : 0;
  const will = p.will;
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  return flags;
}

export function writeConnect(w: Writer, p: ConnectPacket, sizes: EncodeSizes): void {
  const v5 = p.protocolVersion === 5;
  w.utf8(p.protocolName);
  w.u8(p.protocolVersion);
  w.u8(connectFlags(p));
  w.u16(p.keepAlive);
  if (v5) writeProperties(w, p.properties, sizes.props);
  w.utf8(p.clientId);
  const will = p.will;
  if (will !== undefined) {
    if (v5) writeProperties(w, will.properties, sizes.willProps);
    w.utf8(will.topic);
    w.binary(will.payload);
  }
  if (p.username !== undefined) w.utf8(p.username);
  if (p.password !== undefined) w.binary(p.password);
}

export function connackLength(p: ConnackPacket, version: ProtocolVersion, sizes: EncodeSizes): number {
  if (version === 5) checkReasonCode('connack', p.reasonCode, REASON_CODE_SPEC.connack);
  else if (!(p.reasonCode >= 0 && p.reasonCode <= 5)) {
    throw new ProtocolViolationError('3.1.1 CONNACK return codes are 0..5', { specRef: 'MQTT 3.1.1 section 3.2.2.3' });
  }
  if (p.sessionPresent && p.reasonCode !== 0) {
    throw new ProtocolViolationError('session present with a refusal', { specRef: 'MQTT-3.2.2-4' });
  }
  if (version !== 5) return 2;
  sizes.props = propertiesLength(p.properties, CTX_CONNACK);
  return 2 + vbiLength(sizes.props) + sizes.props;
}

export function writeConnack(w: Writer, p: ConnackPacket, version: ProtocolVersion, sizes: EncodeSizes): void {
  w.u8(p.sessionPresent ? 1 : 0);
  w.u8(p.reasonCode);
  if (version === 5) writeProperties(w, p.properties, sizes.props);
}
