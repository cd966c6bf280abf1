/**
 * PUBCOMP from the client, for a PUBREL we sent: the QoS 2 flow is complete [MQTT-4.3.3-5]; the
 * in-flight entry goes (`inflight.complete`). Nothing is sent. No inputs.
 */

import type { PubcompPacket } from '../mqtt/types';
import { reply, type Decision } from './decisions';
import type { BrokerContext, MqttConnectionState } from './state';

export function handlePubcomp(packet: PubcompPacket, state: MqttConnectionState, _ctx: BrokerContext): Decision {
  return reply(state, state.protocolVersion, [], [
    { kind: 'inflight.complete', clientId: state.clientId, packetId: packet.packetId },
  ]);
}
