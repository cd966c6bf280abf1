/**
 * The dispatcher: routes a decoded packet to its handler and maps typed errors to reactions.
 *
 * State rules applied here: before CONNECT only CONNECT is allowed, and anything else closes
 * the connection without a reply [MQTT-3.1.0-1]; packets only a server sends are Protocol
 * Errors.
 *
 * Inputs: PUBLISH, SUBSCRIBE and UNSUBSCRIBE need what the runtime loads before the call
 * (`ctx.publish`, `ctx.subscribe`, `ctx.unsubscribe`; see each module's header). Without it the
 * runtime has a defect: `MissingBrokerInputError` (0x83) becomes its reaction like any other
 * error. PUBACK, PUBREC, PUBREL and PUBCOMP need none (`ctx.ack` is optional).
 */

import { MqttError } from '../mqtt/errors';
import type { Packet, ProtocolVersion } from '../mqtt/types';
import { handleAuth } from './auth';
import { handleConnect } from './connect';
import type { Decision } from './decisions';
import { handleDisconnect } from './disconnect';
import { ConnectExpectedError, MissingBrokerInputError, ProtocolStateError } from './errors';
import { handlePingreq } from './pingreq';
import { handlePuback } from './puback';
import { handlePubcomp } from './pubcomp';
import { handlePublish } from './publish';
import { handlePubrec } from './pubrec';
import { handlePubrel } from './pubrel';
import { decideOnError } from './reaction';
import type { BrokerContext, ConnectionState, MqttConnectionState } from './state';
import { handleSubscribe } from './subscribe';
import { handleUnsubscribe } from './unsubscribe';

export function handlePacket(packet: Packet, state: ConnectionState, ctx: BrokerContext): Decision {
  try {
    return route(packet, state, ctx);
  } catch (error) {
    if (error instanceof MqttError) return decideOnError(error, state, ctx.connectionId, versionHint(packet));
    throw error;
  }
}

function route(packet: Packet, state: ConnectionState, ctx: BrokerContext): Decision {
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
      return handlePublish(packet, connected, ctx, required(ctx.publish, packet));
    case 'subscribe':
      return handleSubscribe(packet, connected, ctx, required(ctx.subscribe, packet));
    case 'unsubscribe':
      return handleUnsubscribe(packet, connected, ctx, required(ctx.unsubscribe, packet));
    case 'puback':
      return handlePuback(packet, connected, ctx);
    case 'pubrec':
      return handlePubrec(packet, connected, ctx);
    case 'pubrel':
      return handlePubrel(packet, connected, ctx);
    case 'pubcomp':
      return handlePubcomp(packet, connected, ctx);
    default:
      return assertNever(packet);
  }
}

function required<T>(inputs: T | undefined, packet: Packet): T {
  if (inputs === undefined) throw new MissingBrokerInputError(`${packet.type} decided without its inputs`);
  return inputs;
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
