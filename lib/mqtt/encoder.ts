/**
 * Packet encoding. Every packet is written into ONE buffer of exactly its size: a length pass
 * (which also validates, throwing the same typed errors as the decoder) computes the Remaining
 * Length, then the fixed header and body are written. Buffers of small packets are carved from a
 * shared slab (./alloc), so `bytes.buffer` may be larger than `bytes`.
 *
 * Version rules: a CONNECT is encoded for its own `protocolVersion` (the argument is ignored for
 * it). For v3/v4, v5-only fields (`properties`, ack/DISCONNECT `reasonCode`, UNSUBACK
 * `reasonCodes`, v5 subscription options) are not written, so the broker can forward one packet
 * object to clients of either version. AUTH cannot be encoded for v3/v4.
 */

import { allocate } from './alloc';
import { MAX_VBI, vbiLength, Writer } from './bytes';
import { checkReasonCode, REASON_CODE_SPEC } from './checks';
import {
  connackLength, connectLength, writeConnack, writeConnect, type EncodeSizes,
} from './encode-connect';
import {
  ackLength, encodePublish, publishFirstByte, publishLength, writeAck, writePublish,
} from './encode-publish';
import {
  subackLength, subscribeLength, unsubackLength, unsubscribeLength, writeSuback, writeSubscribe,
  writeUnsuback, writeUnsubscribe,
} from './encode-subscribe';
import { PacketTooLargeError, ProtocolViolationError } from './errors';
import { propertiesLength, writeProperties } from './properties';
import { type AuthPacket, type DisconnectPacket, type Packet, PACKET_TYPE_CODES, type ProtocolVersion } from './types';

/** Scratch for property block sizes between the length and write passes (encode is synchronous). */
const SIZES: EncodeSizes = { props: 0, willProps: 0 };

/**
 * DISCONNECT/AUTH (v5): Remaining Length 0 for reason code 0 without properties. DISCONNECT
 * without properties stops after the reason code; AUTH always writes its property length then.
 */
function reasonOnlyLength(p: DisconnectPacket | AuthPacket, version: ProtocolVersion, sizes: EncodeSizes): number {
  if (version !== 5) {
    if (p.type === 'auth') throw new ProtocolViolationError('AUTH exists only in MQTT 5', { specRef: 'MQTT 5.0 section 2.1.2' });
    return 0;
  }
  const code = p.reasonCode ?? 0;
  checkReasonCode(p.type, code, REASON_CODE_SPEC[p.type]);
  const props = p.properties === undefined ? 0 : propertiesLength(p.properties, PACKET_TYPE_CODES[p.type]);
  sizes.props = props;
  if (props === 0 && code === 0) return 0;
  if (props === 0 && p.type === 'disconnect') return 1;
  return 1 + vbiLength(props) + props;
}

function writeReasonOnly(w: Writer, p: DisconnectPacket | AuthPacket, rl: number, sizes: EncodeSizes): void {
  if (rl === 0) return;
  w.u8(p.reasonCode ?? 0);
  if (rl > 1) writeProperties(w, p.properties, sizes.props);
}

function remainingLength(p: Packet, version: ProtocolVersion, sizes: EncodeSizes): number {
  switch (p.type) {
    case 'connect': return connectLength(p, sizes);
    case 'connack': return connackLength(p, version, sizes);
    case 'publish': return publishLength(p, version, sizes);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': return ackLength(p, version, sizes);
    case 'subscribe': return subscribeLength(p, version, sizes);
    case 'suback': return subackLength(p, version, sizes);
    case 'unsubscribe': return unsubscribeLength(p, version, sizes);
    case 'unsuback': return unsubackLength(p, version, sizes);
    case 'pingreq':
    case 'pingresp': return 0;
    case 'disconnect':
    case 'auth': return reasonOnlyLength(p, version, sizes);
  }
}

function writeBody(w: Writer, p: Packet, version: ProtocolVersion, rl: number, sizes: EncodeSizes): void {
  switch (p.type) {
    case 'connect': return writeConnect(w, p, sizes);
    case 'connack': return writeConnack(w, p, version, sizes);
    case 'publish': return writePublish(w, p, version, sizes);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': return writeAck(w, p, rl, sizes);
    case 'subscribe': return writeSubscribe(w, p, version, sizes);
    case 'suback': return writeSuback(w, p, version, sizes);
    case 'unsubscribe': return writeUnsubscribe(w, p, version, sizes);
    case 'unsuback': return writeUnsuback(w, p, version, sizes);
    case 'pingreq':
    case 'pingresp': return;
    case 'disconnect':
    case 'auth': return writeReasonOnly(w, p, rl, sizes);
  }
}

/** Fixed-header flags: PUBLISH carries DUP/QoS/RETAIN; PUBREL, SUBSCRIBE, UNSUBSCRIBE 0b0010 [MQTT-2.1.3-1]. */
function firstByte(p: Packet): number {
  if (p.type === 'publish') return publishFirstByte(p);
  const code = PACKET_TYPE_CODES[p.type];
  return (code << 4) | (p.type === 'pubrel' || p.type === 'subscribe' || p.type === 'unsubscribe' ? 0b0010 : 0);
}

function checkedRemainingLength(p: Packet, version: ProtocolVersion): number {
  const rl = remainingLength(p, version, SIZES);
  if (rl > MAX_VBI) throw new PacketTooLargeError('packet larger than MQTT can express', { specRef: 'MQTT 5.0 section 2.1.4' });
  return rl;
}

/**
 * Encodes one packet into a new Uint8Array of exactly its size. Small packets are views into a
 * shared slab (see ./alloc): use byteOffset/byteLength, never detach `.buffer`.
 */
export function encode(packet: Packet, protocolVersion: ProtocolVersion): Uint8Array {
  if (packet.type === 'publish') return encodePublish(packet, protocolVersion);
  if (packet.type === 'pingreq') return new Uint8Array([0xc0, 0x00]); // a fresh array: callers own it
  if (packet.type === 'pingresp') return new Uint8Array([0xd0, 0x00]);
  const rl = checkedRemainingLength(packet, protocolVersion);
  const w = new Writer(allocate(1 + vbiLength(rl) + rl));
  w.u8(firstByte(packet));
  w.vbi(rl);
  writeBody(w, packet, protocolVersion, rl, SIZES);
  return w.buf;
}

/** The number of bytes `encode(packet, protocolVersion)` produces (validating like encode). */
export function encodedLength(packet: Packet, protocolVersion: ProtocolVersion): number {
  const rl = checkedRemainingLength(packet, protocolVersion);
  return 1 + vbiLength(rl) + rl;
}
