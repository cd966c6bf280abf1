/**
 * Small validation helpers shared by the decoders and encoders, so a rule reads the same (and
 * throws the same typed error) both ways.
 */

import { MalformedPacketError, ProtocolViolationError } from './errors';
import { isValidReasonCode, type ReasonCodePacketType } from './reason-codes';

/** Packet identifiers are 1..65535; 0 is refused where one is required [MQTT-2.2.1-3]. */
export function checkPacketId(id: number): void {
  if (!(id >= 1 && id <= 0xffff && Number.isInteger(id))) {
    throw new ProtocolViolationError('packet identifier must be 1..65535', { specRef: 'MQTT-2.2.1-3' });
  }
}

/** QoS 3 is reserved [MQTT-3.3.1-4]; other values cannot be represented at all. */
export function checkQoS(qos: number, specRef = 'MQTT-3.3.1-4'): void {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new MalformedPacketError('QoS must be 0, 1 or 2', { specRef });
}

/** An unsigned integer field that must fit in `max`. */
export function checkUint(n: number, max: number, what: string): void {
  if (!(n >= 0 && n <= max && Number.isInteger(n))) throw new MalformedPacketError(`${what} out of range`);
}

/** A binary field with a two-byte length prefix. */
export function binaryFieldLength(data: Uint8Array, what: string): number {
  if (data.length > 0xffff) throw new MalformedPacketError(`${what} longer than 65535 bytes`);
  return 2 + data.length;
}

/** A v5 reason code must be one defined for the packet carrying it (section 2.4). */
export function checkReasonCode(type: ReasonCodePacketType, code: number, specRef: string): void {
  if (!isValidReasonCode(type, code)) {
    throw new ProtocolViolationError(`reason code 0x${code.toString(16)} not valid in ${type}`, { specRef });
  }
}

/** Spec references of the "MUST use one of the X Reason Codes" statements (MQTT 5.0). */
export const REASON_CODE_SPEC: Record<ReasonCodePacketType, string> = {
  connack: 'MQTT-3.2.2-8',
  puback: 'MQTT-3.4.2-1',
  pubrec: 'MQTT-3.5.2-1',
  pubrel: 'MQTT-3.6.2-1',
  pubcomp: 'MQTT-3.7.2-1',
  suback: 'MQTT-3.9.3-1',
  unsuback: 'MQTT-3.11.3-1',
  disconnect: 'MQTT-3.14.2-1',
  auth: 'MQTT-3.15.2-1',
};
