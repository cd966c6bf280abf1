/**
 * Encoding of PUBLISH and PUBACK/PUBREC/PUBREL/PUBCOMP.
 */

import { allocate } from './alloc';
import { MAX_VBI, vbiLength, Writer } from './bytes';
import { checkPacketId, checkQoS, checkReasonCode, REASON_CODE_SPEC } from './checks';
import type { EncodeSizes } from './encode-connect';
import { MalformedPacketError, PacketTooLargeError } from './errors';
import { propertiesLength, writeProperties } from './properties';
import type { AckPacket, ProtocolVersion, PublishPacket } from './types';
import { stringFieldLength, writeUtf8 } from './utf8';

const CTX_PUBLISH = 3;

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

/** First byte of a PUBLISH: type 3, DUP, QoS, RETAIN. */
export function publishFirstByte(p: PublishPacket): number {
  return 0x30 | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 0x01 : 0);
}

export function publishLength(p: PublishPacket, version: ProtocolVersion, sizes: EncodeSizes): number {
  const qos = p.qos;
  checkQoS(qos); // [MQTT-3.3.1-4]
  if (p.dup && qos === 0) throw new MalformedPacketError('DUP set on a QoS 0 PUBLISH', { specRef: 'MQTT-3.3.1-2' });
  let len = stringFieldLength(p.topic) + p.payload.length;
  if (qos > 0) {
    checkPacketId(p.packetId ?? 0); // [MQTT-2.2.1-3]
    len += 2;
  }
  if (version === 5) {
    const props = p.properties === undefined ? 0 : propertiesLength(p.properties, CTX_PUBLISH);
    sizes.props = props;
    len += vbiLength(props) + props;
  }
  return len;
}

export function writePublish(w: Writer, p: PublishPacket, version: ProtocolVersion, sizes: EncodeSizes): void {
  w.utf8(p.topic);
  if (p.qos > 0) w.u16(p.packetId as number);
  if (version === 5) writeProperties(w, p.properties, sizes.props);
  w.raw(p.payload);
}

/**
 * The hot path: PUBLISH encoded without the generic dispatch. Same checks and bytes as
 * publishLength + writePublish; the topic is measured once and the buffer written directly.
 */
export function encodePublish(p: PublishPacket, version: ProtocolVersion): Uint8Array {
  const topicField = stringFieldLength(p.topic);
  const qos = p.qos;
  checkQoS(qos); // [MQTT-3.3.1-4]
  if (p.dup && qos === 0) throw new MalformedPacketError('DUP set on a QoS 0 PUBLISH', { specRef: 'MQTT-3.3.1-2' });
  if (qos > 0) checkPacketId(p.packetId ?? 0); // [MQTT-2.2.1-3]
  const payload = p.payload;
  const props = version === 5 && p.properties !== undefined ? propertiesLength(p.properties, CTX_PUBLISH) : 0;
  const rl = topicField + (qos > 0 ? 2 : 0) + (version === 5 ? vbiLength(props) + props : 0) + payload.length;
  if (rl > MAX_VBI) throw new PacketTooLargeError('packet larger than MQTT can express', { specRef: 'MQTT 5.0 section 2.1.4' });
  const buf = allocate(1 + vbiLength(rl) + rl);
  buf[0] = publishFirstByte(p);
  let pos = 1;
  for (let n = rl; ; ) {
    if (n < 0x80) {
      buf[pos++] = n;
      break;
    }
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  const topicLen = topicField - 2;
  buf[pos] = topicLen >>> 8;
  buf[pos + 1] = topicLen;
  pos = writeUtf8(buf, pos + 2, p.topic);
  if (qos > 0) {
    const id = p.packetId as number;
    buf[pos++] = id >>> 8;
    buf[pos++] = id;
  }
  if (version === 5) {
    if (props === 0) buf[pos++] = 0;
    else {
      const w = new Writer(buf);
      w.pos = pos;
      writeProperties(w, p.properties, props);
      pos = w.pos;
    }
  }
  const n = payload.length;
  if (n > 32) buf.set(payload, pos);
  else for (let i = 0; i < n; i++) buf[pos + i] = payload[i];
  return buf;
}

/**
 * v5 acks use the shortest form: Remaining Length 2 for Success without properties, 3 for another
 * reason code without properties. v3/v4 acks are the packet identifier only.
 */
export function ackLength<T extends AckType>(p: AckPacket<T>, version: ProtocolVersion, sizes: EncodeSizes): number {
  checkPacketId(p.packetId); // [MQTT-2.2.1-3]
  if (version !== 5) return 2;
  const code = p.reasonCode ?? 0;
  checkReasonCode(p.type, code, REASON_CODE_SPEC[p.type]);
  const props = p.properties === undefined ? 0 : propertiesLength(p.properties, ackContext(p.type));
  sizes.props = props;
  if (props === 0) return code === 0 ? 2 : 3;
  return 3 + vbiLength(props) + props;
}

function ackContext(type: AckType): number {
  return type === 'puback' ? 4 : type === 'pubrec' ? 5 : type === 'pubrel' ? 6 : 7;
}

export function writeAck<T extends AckType>(w: Writer, p: AckPacket<T>, rl: number, sizes: EncodeSizes): void {
  w.u16(p.packetId);
  if (rl > 2) w.u8(p.reasonCode ?? 0);
  if (rl > 3) writeProperties(w, p.properties, sizes.props);
}
