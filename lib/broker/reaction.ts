/**
 * The one place that maps a typed error to the broker's reaction:
 * - before CONNACK: a CONNACK with the reason code (v5) or the 3.1.1 return code where one
 *   exists (v3/v4), then close; with no 3.1.1 counterpart (a malformed packet, a protocol
 *   error), just close;
 * - after CONNACK: v5 DISCONNECT with the reason code, then close; v3/v4 just close;
 * - a first packet that is not CONNECT: just close [MQTT-3.1.0-1].
 */

import { MqttError } from '../mqtt/errors';
import { isValidReasonCode, ReasonCode } from '../mqtt/reason-codes';
import type { ConnackPacket, DisconnectPacket, ProtocolVersion } from '../mqtt/types';
import type { CloseDirective, Decision, Intent } from './decisions';
import { ConnectExpectedError } from './errors';
import type { ConnectionState } from './state';

export interface Reaction {
  /** The version to encode `send` with (4 when the client's version is unknown). */
  readonly protocolVersion: ProtocolVersion;
  readonly send: readonly (ConnackPacket | DisconnectPacket)[];
  readonly close: CloseDirective;
}

/**
 * v5 CONNACK reason codes that 3.1/3.1.1 can express (3.1.1 section 3.2.2.3). Anything else has
 * no return code in 3.1.1, and the connection is closed without a CONNACK.
 */
const V4_RETURN_CODES: ReadonlyMap<number, number> = new Map([
  [ReasonCode.UnsupportedProtocolVersion, 1],
  [ReasonCode.ClientIdentifierNotValid, 2],
  [ReasonCode.ServerUnavailable, 3],
  [ReasonCode.ServerBusy, 3],
  [ReasonCode.BadUserNameOrPassword, 4],
  [ReasonCode.NotAuthorized, 5],
  [ReasonCode.Banned, 5],
]);

/** The 3.1.1 CONNACK return code for a v5 reason code, or undefined when there is none. */
export function v4ReturnCodeFor(reasonCode: number): number | undefined {
  return V4_RETURN_CODES.get(reasonCode);
}

/** Maps a typed error to its reaction. */
export function reactionTo(
  error: MqttError,
  protocolVersion: ProtocolVersion | undefined,
  connackSent: boolean,
): Reaction {
  const code = error.reasonCode;
  if (error instanceof ConnectExpectedError) {
    return closeOnly(protocolVersion, 'connect-expected', code);
  }
  if (!connackSent) return refuseConnect(code, protocolVersion);
  if (protocolVersion === 5) {
    // [MQTT-3.14.2-1] only DISCONNECT reason codes; never a Session Expiry Interval [MQTT-3.14.2-2]
    const reasonCode = disconnectCodeFor(code);
    const disconnect: DisconnectPacket = { type: 'disconnect', reasonCode };
    return { protocolVersion, send: [disconnect], close: { reason: 'server-disconnect', reasonCode } };
  }
  return closeOnly(protocolVersion, 'server-disconnect', code);
}

/**
 * The DISCONNECT reason code for an error after CONNACK. A code that only a CONNACK can carry
 * (0x84 Unsupported Protocol Version, 0x85 Client Identifier not valid) comes from decoding a
 * CONNECT, and any CONNECT after the first is a Protocol Error [MQTT-3.1.0-2], whatever else is
 * wrong with it. Any other code a DISCONNECT cannot carry is 0x80.
 */
function disconnectCodeFor(code: number): number {
  if (isValidReasonCode('disconnect', code)) return code;
  return isValidReasonCode('connack', code) && code >= 0x80 ? ReasonCode.ProtocolError : ReasonCode.UnspecifiedError;
}

/** CONNACK with a failure code, then close [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5]). */
function refuseConnect(code: number, protocolVersion: ProtocolVersion | undefined): Reaction {
  if (protocolVersion === 5) {
    // [MQTT-3.2.2-8] only CONNACK reason codes; Session Present 0 on failure [MQTT-3.2.2-6]
    const reasonCode = isValidReasonCode('connack', code) && code >= 0x80 ? code : ReasonCode.UnspecifiedError;
    const connack: ConnackPacket = { type: 'connack', sessionPresent: false, reasonCode };
    return { protocolVersion, send: [connack], close: { reason: 'connect-refused', reasonCode } };
  }
  const returnCode = v4ReturnCodeFor(code);
  if (returnCode === undefined) return closeOnly(protocolVersion, 'connect-refused', code);
  // 3.1.1: Session Present 0 with a non-zero return code [MQTT-3.2.2-4]
  const connack: ConnackPacket = { type: 'connack', sessionPresent: false, reasonCode: returnCode };
  return { protocolVersion: protocolVersion ?? 4, send: [connack], close: { reason: 'connect-refused', reasonCode: code } };
}

function closeOnly(
  protocolVersion: ProtocolVersion | undefined,
  reason: CloseDirective['reason'],
  reasonCode: number,
): Reaction {
  return { protocolVersion: protocolVersion ?? 4, send: [], close: { reason, reasonCode } };
}

/**
 * The full decision for an error raised while handling a packet on a connection in `state`.
 * After CONNACK the server closes the connection without a normal DISCONNECT from the client,
 * so the will, if any, is published [MQTT-3.1.2-8]. The runtime also calls this for codec
 * errors; `protocolVersionHint` is the CONNECT's version when known and the state has none.
 */
export function decideOnError(
  error: MqttError,
  state: ConnectionState,
  connectionId: string,
  protocolVersionHint?: ProtocolVersion,
): Decision {
  const connackSent = state.status === 'mqtt';
  const version = connackSent ? state.protocolVersion : protocolVersionHint;
  const reaction = reactionTo(error, version, connackSent);
  const intents: Intent[] = [];
  if (state.status === 'mqtt' && state.will !== null) {
    intents.push({ kind: 'will.publish', clientId: state.clientId, connectionId, will: state.will });
  }
  return {
    kind: 'decision',
    state,
    protocolVersion: reaction.protocolVersion,
    send: reaction.send,
    intents,
    close: reaction.close,
  };
}
