/**
 * Decoding of PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP.
 */

import { Reader } from './bytes';
import { checkPacketId } from './checks';
import { MalformedPacketError } from './errors';
import { decodeProperties } from './properties';
import { readReasonAndProperties } from './decode-control';
import type { AckPacket, ProtocolVersion, PublishPacket, QoS } from './types';

const CTX_PUBLISH = 3;

/** PUBLISH; `flags` are the low four bits of the fixed header (DUP, QoS, RETAIN). */
export function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) throw new MalformedPacketError('PUBLISH with QoS 3', { specRef: 'MQTT-3.3.1-4' });
  const dup = (flags & 0x08) !== 0;
  if (dup && qos === 0) throw new MalformedPacketError('DUP set on a QoS 0 PUBLISH', { specRef: 'MQTT-3.3.1-2' });
  const topic = r.utf8();
  let packetId: number | undefined;
  if (qos > 0) {
    packetId = r.u16();
    checkPacketId(packetId); // [MQTT-2.2.1-3]
  }
  const properties = version === 5 ? decodeProperties(r, CTX_PUBLISH) : undefined;
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: r.rest(),
    qos: qos as QoS,
    retain: (flags & 0x01) !== 0,
    dup,
  };
  if (packetId !== undefined) packet.packetId = packetId;
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

/**
 * PUBACK/PUBREC/PUBREL/PUBCOMP. In v5 the reason code and property length may be omitted
 * (Remaining Length 2 means Success, 3 means no properties); the decoded packet always carries
 * `reasonCode` in v5 and never in v3/v4.
 */
export function decodeAck<T extends AckType>(r: Reader, type: T, context: number, version: ProtocolVersion): AckPacket<T> {
  const packetId = r.u16();
  checkPacketId(packetId); // [MQTT-2.2.1-3]
  const packet: AckPacket<T> = { type, packetId };
  if (version === 5) readReasonAndProperties(r, packet, type, context);
  r.done();
  return packet;
}
