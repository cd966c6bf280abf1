/**
 * AUTH (v5). The server supports no Authentication Method, so every accepted CONNECT had none,
 * and a client that sent no Authentication Method must not send AUTH [MQTT-4.12.0-7]: a Protocol
 * Error (DISCONNECT 0x82). In 3.1/3.1.1 packet type 15 is reserved; the codec refuses it.
 */

import type { AuthPacket } from '../mqtt/types';
import type { Decision } from './decisions';
import { ProtocolStateError } from './errors';
import type { BrokerContext, MqttConnectionState } from './state';

export function handleAuth(_packet: AuthPacket, _state: MqttConnectionState, _ctx: BrokerContext): Decision {
  throw new ProtocolStateError('AUTH without an Authentication Method in CONNECT', { specRef: 'MQTT-4.12.0-7' });
}
