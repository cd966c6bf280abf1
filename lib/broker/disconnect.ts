/**
 * DISCONNECT from the client: update the session expiry (v5), discard or publish the will, close.
 * - Reason Code 0x00 (and every 3.1/3.1.1 DISCONNECT): discard the will [MQTT-3.14.4-3].
 * - Any other v5 reason code (0x04 Disconnect with Will Message, or an error): the connection
 *   did not end normally, so the will is published [MQTT-3.1.2-8].
 * - v5 Session Expiry Interval: non-zero after a CONNECT that set 0 is a Protocol Error
 *   (MQTT 5.0 section 3.14.2.2.2); otherwise recorded, clamped to the configured maximum.
 * The server sends nothing back [MQTT-3.14.4-1].
 */

import type { DisconnectPacket } from '../mqtt/types';
import type { BrokerConfig } from './config';
import type { Decision, Intent } from './decisions';
import { ProtocolStateError } from './errors';
import type { BrokerContext, MqttConnectionState } from './state';

const NORMAL_DISCONNECTION = 0x00;

export function handleDisconnect(packet: DisconnectPacket, state: MqttConnectionState, ctx: BrokerContext): Decision {
  const reasonCode = state.protocolVersion === 5 ? (packet.reasonCode ?? NORMAL_DISCONNECTION) : NORMAL_DISCONNECTION;
  const expiry = newSessionExpiry(packet, state, ctx.config);
  const ids = { clientId: state.clientId, connectionId: ctx.connectionId };
  const intents: Intent[] = [];
  if (expiry !== undefined && expiry !== state.sessionExpiryInterval) {
    intents.push({ kind: 'session.setExpiry', ...ids, sessionExpiryInterval: expiry });
  }
  if (state.will !== null) {
    intents.push(
      reasonCode === NORMAL_DISCONNECTION
        ? { kind: 'will.discard', ...ids }
        : { kind: 'will.publish', ...ids, will: state.will },
    );
  }
  const next: MqttConnectionState = {
    ...state,
    sessionExpiryInterval: expiry ?? state.sessionExpiryInterval,
    will: null,
  };
  return {
    kind: 'decision',
    state: next,
    protocolVersion: state.protocolVersion,
    send: [],
    intents,
    close: { reason: 'client-disconnect', reasonCode },
  };
}

/** The Session Expiry Interval a v5 DISCONNECT sets, clamped; undefined when it sets none. */
function newSessionExpiry(packet: DisconnectPacket, state: MqttConnectionState, config: BrokerConfig): number | undefined {
  if (state.protocolVersion !== 5) return undefined;
  const requested = packet.properties?.sessionExpiryInterval;
  if (requested === undefined) return undefined;
  if (state.sessionExpiryInterval === 0 && requested !== 0) {
    throw new ProtocolStateError('Non-zero Session Expiry Interval in DISCONNECT after 0 in CONNECT');
  }
  return Math.min(requested, config.maximumSessionExpiryInterval);
}
