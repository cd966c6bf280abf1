/**
 * Decoding of DISCONNECT and AUTH (PINGREQ/PINGRESP have no body and are built by the decoder).
 */

import { Reader } from './bytes';
import { checkReasonCode, REASON_CODE_SPEC } from './checks';
import type { ReasonCodePacketType } from './reason-codes';
import { decodeProperties } from './properties';
import type { AuthPacket, DisconnectPacket, Properties, ProtocolVersion } from './types';

const CTX_DISCONNECT = 14;
const CTX_AUTH = 15;

/**
 * DISCONNECT: empty in v3/v4. In v5 Remaining Length 0 means reason code 0 (Normal
 * disconnection) and no properties; the decoded v5 packet always carries `reasonCode`.
 */
export function decodeDisconnect(r: Reader, version: ProtocolVersion): DisconnectPacket {
  const packet: DisconnectPacket = { type: 'disconnect' };
  if (version === 5) readReasonAndProperties(r, packet, 'disconnect', CTX_DISCONNECT);
  r.done();
  return packet;
}

/** AUTH (v5 only): Remaining Length 0 means Success and no properties. */
export function decodeAuth(r: Reader): AuthPacket {
  const packet: AuthPacket = { type: 'auth' };
  readReasonAndProperties(r, packet, 'auth', CTX_AUTH);
  r.done();
  return packet;
}

/**
 * The v5 tail shared by acks, DISCONNECT and AUTH: an optional reason code (0 when omitted), then
 * optional properties.
 */
export function readReasonAndProperties(
  r: Reader,
  packet: { reasonCode?: number; properties?: Properties },
  type: ReasonCodePacketType,
  context: number,
): void {
  let reasonCode = 0;
  if (r.remaining() > 0) {
    reasonCode = r.u8();
    checkReasonCode(type, reasonCode, REASON_CODE_SPEC[type]);
  }
  packet.reasonCode = reasonCode;
  if (r.remaining() > 0) {
    const properties = decodeProperties(r, context);
    if (properties !== undefined) packet.properties = properties;
  }
}
