/**
 * PUBACK from the client, for a QoS 1 PUBLISH we sent: it is acknowledged [MQTT-4.3.2-3], so the
 * in-flight entry goes (`inflight.ack`), whatever the reason code: one of 0x80 or above also ends
 * it [MQTT-4.4.0-2]. Nothing is sent. No inputs: an unknown packet id is a no-op in the store.
 */

import type { PubackPacket } from '../mqtt/types';
import { reply, type Decision } from './decisions';
import type { BrokerContext, MqttConnectionState } from './state';

export function handlePuback(packet: PubackPacket, state: MqttConnectionState, _ctx: BrokerContext): Decision {
  return reply(state, state.protocolVersion, [], [
    { kind: 'inflight.ack', clientId: state.clientId, packetId: packet.packetId },
  ]);
}
