/**
 * PUBREL from the client, releasing a QoS 2 PUBLISH it sent us: answer PUBCOMP with the same
 * packet id [MQTT-4.3.3-11] and delete the receive record (`qos2.release`); a later PUBLISH with
 * that id is a new message [MQTT-4.3.3-12].
 *
 * Always PUBCOMP, and the delete is idempotent: a PUBREL repeated on resume [MQTT-4.4.0-1], or
 * one that reaches us before the invocation handling its PUBLISH has written (API Gateway keeps
 * no order), is answered rather than refused; the client's QoS 2 flow then ends either way.
 * Optional input `ctx.ack.packetIdKnown` (whether a `qos2.receive` record existed; the runtime
 * may learn it by doing the delete first): false makes the v5 PUBCOMP carry 0x92 Packet
 * Identifier not found (MQTT 5.0 3.7.2.1). 3.1.1 PUBCOMP has no code.
 */

import { ReasonCode } from '../mqtt/reason-codes';
import type { PubcompPacket, PubrelPacket } from '../mqtt/types';
import { reply, type Decision } from './decisions';
import type { BrokerContext, MqttConnectionState } from './state';

export function handlePubrel(packet: PubrelPacket, state: MqttConnectionState, ctx: BrokerContext): Decision {
  const pubcomp: PubcompPacket = { type: 'pubcomp', packetId: packet.packetId };
  if (state.protocolVersion === 5 && ctx.ack?.packetIdKnown === false) {
    pubcomp.reasonCode = ReasonCode.PacketIdentifierNotFound;
  }
  return reply(state, state.protocolVersion, [pubcomp], [
    { kind: 'qos2.release', clientId: state.clientId, packetId: packet.packetId },
  ]);
}
