/**
 * PUBREC from the client, for a QoS 2 PUBLISH we sent.
 * - Reason code below 0x80 (always in 3.1.1): answer PUBREL with the same packet id
 *   [MQTT-4.3.3-4] and keep the PUBREL in flight until PUBCOMP (`inflight.released`)
 *   [MQTT-4.3.3-5]; the PUBLISH is never resent [MQTT-4.3.3-6].
 * - v5 reason code 0x80 or above: the PUBLISH is acknowledged and not retransmitted
 *   [MQTT-4.4.0-2]; nothing is sent (`inflight.ack`).
 * Optional input `ctx.ack.packetIdKnown`: false (no such PUBLISH in flight) answers a v5 PUBREL
 * 0x92 Packet Identifier not found and writes nothing; 3.1.1 has no code and gets PUBREL anyway.
 */

import { ReasonCode } from '../mqtt/reason-codes';
import type { PubrecPacket, PubrelPacket } from '../mqtt/types';
import { reply, type Decision } from './decisions';
import type { BrokerContext, MqttConnectionState } from './state';

export function handlePubrec(packet: PubrecPacket, state: MqttConnectionState, ctx: BrokerContext): Decision {
  const ids = { clientId: state.clientId, packetId: packet.packetId };
  const v5 = state.protocolVersion === 5;
  if (v5 && (packet.reasonCode ?? 0) >= 0x80) {
    return reply(state, state.protocolVersion, [], [{ kind: 'inflight.ack', ...ids }]);
  }
  const pubrel: PubrelPacket = { type: 'pubrel', packetId: packet.packetId };
  if (ctx.ack?.packetIdKnown === false) {
    if (v5) pubrel.reasonCode = ReasonCode.PacketIdentifierNotFound;
    return reply(state, state.protocolVersion, [pubrel]);
  }
  return reply(state, state.protocolVersion, [pubrel], [{ kind: 'inflight.released', ...ids }]);
}
