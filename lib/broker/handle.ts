/**
 * The dispatcher: routes a decoded packet to its handler and maps typed errors to reactions.
 *
 * State rules applied here: before CONNECT only CONNECT is allowed, and anything else closes
 * the connection without a reply [MQTT-3.1.0-1]; packets only a server sends are Protocol
 * Errors. Packet types this slice does not handle yet come back as `Unhandled`.
 */

import { MqttError } from '../mqtt/errors';
import type { Packet, ProtocolVersion } from '../mqtt/types';
import { handleAuth } from './auth';
import { handleConnect } from './connect';
import type { Decision, Unhandled } from './decisions';
import { handleDisconnect } from './disconnect';
import { ConnectExpectedError, ProtocolStateError } from './errors';
import { handlePingreq } from './pingreq';
import { decideOnError } from './reaction';
import type { BrokerContext, ConnectionState, MqttConnectionState } from './state';

export function handlePacket(packet: Packet, state: ConnectionState, ctx: BrokerContext): Decision | Unhandled {
  try {
    return route(packet, state, ctx);
  } catch (error) {
    if (error instanceof MqttError) return decideOnError(error, state, ctx.connectionId, versionHint(packet));
    throw error;
  }
}

function route(packet: Packet, state: ConnectionState, ctx: BrokerContext): Decision | Unhandled {
  if (packet.type === 'connect') return handleConnect(packet, state, ctx);
  const connected = requireConnected(state);
  switch (packet.type) {
    case 'pingreq':
      return handlePingreq(packet, connected, ctx);
    case 'disconnect':
      return handleDisconnect(packet, connected, ctx);
    case 'auth':
      return handleAuth(packet, connected, ctx);
    case 'connack':
    case 'suback':
    case 'unsuback':
    case 'pingresp':
      throw new ProtocolStateError(`${packet.type} is sent by servers only`);
    case 'publish':
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'subscribe':
    case 'unsubscribe':
      return { kind: 'unhandled', packetType: packet.type, packet, state: connected };
    default:
      return assertNever(packet);
  }
}

/** Any packet but CONNECT needs an accepted CONNECT first [MQTT-3.1.0-1]. */
function requireConnected(state: ConnectionState): MqttConnectionState {
  if (state.status !== 'mqtt') {
    throw new ConnectExpectedError('First packet is not CONNECT', { specRef: 'MQTT-3.1.0-1' });
  }
  return state;
}

/** The version to answer a refused CONNECT in, when the CONNECT names one we know. */
function versionHint(packet: Packet): ProtocolVersion | undefined {
  if (packet.type !== 'connect') return undefined;
  const v: number = packet.protocolVersion;
  return v === 3 || v === 4 || v === 5 ? v : undefined;
}

function assertNever(packet: never): never {
  throw new Error(`Unknown packet ${JSON.stringify(packet)}`);
}
