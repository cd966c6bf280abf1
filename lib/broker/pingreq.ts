/** PINGREQ: answer with PINGRESP [MQTT-3.12.4-1]. Nothing is written. */

import type { PingreqPacket } from '../mqtt/types';
import { reply, type Decision } from './decisions';
import type { BrokerContext, MqttConnectionState } from './state';

export function handlePingreq(_packet: PingreqPacket, state: MqttConnectionState, _ctx: BrokerContext): Decision {
  return reply(state, state.protocolVersion, [{ type: 'pingresp' }]);
}
