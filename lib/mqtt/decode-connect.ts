/**
 * Decoding of CONNECT and CONNACK bodies (fixed header already parsed and checked).
 */

import { Reader } from './bytes';
import { checkReasonCode, REASON_CODE_SPEC } from './checks';
import { MalformedPacketError, ProtocolViolationError, UnsupportedProtocolVersionError } from './errors';
import { decodeProperties } from './properties';
import type { ConnackPacket, ConnectPacket, ProtocolVersion, QoS, Will } from './types';

const CTX_CONNECT = 1;
const CTX_CONNACK = 2;
const CTX_WILL = 0;

/**
 * Reads the protocol name and level. 'MQIsdp' must come with level 3, 'MQTT' with 4 or 5
 * [MQTT-3.1.2-1, MQTT-3.1.2-2]; anything else is answered with CONNACK 0x84 / return code 1.
 */
function readProtocol(r: Reader): { name: 'MQTT' | 'MQIsdp'; level: ProtocolVersion } {
  const len = r.u16();
  const b = r.buf;
  const p = r.pos;
  if (p + len > r.end) throw new MalformedPacketError('packet shorter than its fields');
  r.pos = p + len;
  const level = r.u8();
  const isMqtt = len === 4 && b[p] === 0x4d && b[p + 1] === 0x51 && b[p + 2] === 0x54 && b[p + 3] === 0x54;
  const isMqisdp =
    len === 6 && b[p] === 0x4d && b[p + 1] === 0x51 && b[p + 2] === 0x49 &&
    b[p + 3] === 0x73 && b[p + 4] === 0x64 && b[p + 5] === 0x70;
  if (isMqtt && (level === 4 || level === 5)) return { name: 'MQTT', level };
  if (isMqisdp && level === 3) return { name: 'MQIsdp', level };
  if (!isMqtt && !isMqisdp) {
    throw new UnsupportedProtocolVersionError('unknown protocol name', { specRef: 'MQTT-3.1.2-1' });
  }
  throw new UnsupportedProtocolVersionError(`unsupported protocol level ${level}`, { specRef: 'MQTT-3.1.2-2' });
}

/** Connect Flags checks (section 3.1.2.3). */
function checkConnectFlags(flags: number, version: ProtocolVersion): void {
  if ((flags & 0x01) !== 0) {
    throw new MalformedPacketError('CONNECT reserved flag set', { specRef: 'MQTT-3.1.2-3' });
  }
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  // The will-flag rules, cited by their MQTT 5.0 IDs: [MQTT-3.1.2-11] (3.1.1: [MQTT-3.1.2-13]),
  // [MQTT-3.1.2-12] (3.1.1: [MQTT-3.1.2-14]) and [MQTT-3.1.2-13] (3.1.1: [MQTT-3.1.2-15]).
  if (!willFlag && willQos !== 0) {
    throw new MalformedPacketError('will QoS set without will flag', { specRef: 'MQTT-3.1.2-11' });
  }
  if (willQos === 3) throw new MalformedPacketError('will QoS 3', { specRef: 'MQTT-3.1.2-12' });
  if (!willFlag && (flags & 0x20) !== 0) {
    throw new MalformedPacketError('will retain set without will flag', { specRef: 'MQTT-3.1.2-13' });
  }
  if (version !== 5 && (flags & 0x80) === 0 && (flags & 0x40) !== 0) {
    // 3.1.1 only: MQTT 5 allows a password without a user name.
    throw new MalformedPacketError('password flag without user name flag', { specRef: '3.1.1: MQTT-3.1.2-22' });
  }
}

/** CONNECT: its own protocol level decides how the rest is read. */
export function decodeConnect(r: Reader): ConnectPacket {
  const { name, level } = readProtocol(r);
  const flags = r.u8();
  checkConnectFlags(flags, level);
  const keepAlive = r.u16();
  const properties = level === 5 ? decodeProperties(r, CTX_CONNECT) : undefined;
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: name,
    protocolVersion: level,
    clean: (flags & 0x02) !== 0,
    keepAlive,
    clientId: r.utf8(),
  };
  if (properties !== undefined) packet.properties = properties;
  if ((flags & 0x04) !== 0) packet.will = readWill(r, flags, level);
  if ((flags & 0x80) !== 0) packet.username = r.utf8();
  if ((flags & 0x40) !== 0) packet.password = r.binary();
  r.done();
  return packet;
}

function readWill(r: Reader, flags: number, level: ProtocolVersion): Will {
  const properties = level === 5 ? decodeProperties(r, CTX_WILL) : undefined;
  const will: Will = {
    topic: r.utf8(),
    payload: r.binary(),
    qos: ((flags >> 3) & 0x03) as QoS,
    retain: (flags & 0x20) !== 0,
  };
  if (properties !== undefined) will.properties = properties;
  return will;
}

/** CONNACK: Connect Acknowledge Flags, then the return code (v3/v4) or reason code (v5). */
export function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const ackFlags = r.u8();
  if ((ackFlags & 0xfe) !== 0) {
    throw new MalformedPacketError('CONNACK reserved flags set', { specRef: 'MQTT-3.2.2-1' });
  }
  const reasonCode = r.u8();
  const sessionPresent = ackFlags === 1;
  if (version === 5) checkReasonCode('connack', reasonCode, REASON_CODE_SPEC.connack);
  else if (reasonCode > 5) throw new ProtocolViolationError('reserved CONNACK return code', { specRef: 'MQTT 3.1.1 section 3.2.2.3' });
  if (sessionPresent && reasonCode !== 0) {
    throw new ProtocolViolationError('session present with a refusal', { specRef: 'MQTT-3.2.2-4' });
  }
  const packet: ConnackPacket = { type: 'connack', sessionPresent, reasonCode };
  if (version === 5) {
    const properties = decodeProperties(r, CTX_CONNACK);
    if (properties !== undefined) packet.properties = properties;
  }
  r.done();
  return packet;
}
