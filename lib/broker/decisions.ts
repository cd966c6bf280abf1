/**
 * The decision model: what the core returns instead of performing I/O.
 *
 * The runtime carries out a Decision in this order:
 *   1. every intent in `intents`, in order (each maps to store calls);
 *   2. every packet in `send`, in order, encoded with `protocolVersion`;
 *   3. when `close` is set, closes the connection (after the packets are sent).
 */

import type {
  ConnackPacket,
  DisconnectPacket,
  Packet,
  PacketType,
  PingrespPacket,
  ProtocolVersion,
  PubackPacket,
  PubcompPacket,
  PubrecPacket,
  PubrelPacket,
  SubackPacket,
  UnsubackPacket,
  Will,
} from '../mqtt/types';
import type { RoutingIntent } from './intents';
import type { ConnectionParams, ConnectionState, MqttConnectionState } from './state';

/**
 * Packets the core answers with on the sender's own connection. Application messages to
 * subscribers are not among them: they travel in `publish.deliver` and `retained.send` intents.
 */
export type OutboundPacket =
  | ConnackPacket
  | PingrespPacket
  | DisconnectPacket
  | SubackPacket
  | UnsubackPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket;

/** Records to write, as typed intents. */
export type Intent =
  | MarkConnectedIntent
  | SessionClaimIntent
  | SessionSetExpiryIntent
  | WillPublishIntent
  | WillDiscardIntent
  | RoutingIntent;

/**
 * Record the connection as MQTT-connected. Should be conditional on the connection still being
 * 'open', so that two racing CONNECTs cannot both succeed [MQTT-3.1.0-2].
 */
export interface MarkConnectedIntent {
  readonly kind: 'connection.markConnected';
  readonly connectionId: string;
  readonly connection: ConnectionParams;
  /** ctx.now, epoch ms */
  readonly connectedAt: number;
}

/**
 * Make this connection the owner of the client id's session: a conditional write in the store,
 * where takeover of another connection is resolved [MQTT-3.1.4-3]. With `cleanStart` the store
 * discards any existing session state [MQTT-3.1.2-4]; otherwise it keeps it.
 */
export interface SessionClaimIntent {
  readonly kind: 'session.claim';
  readonly clientId: string;
  /**
   * The server assigned `clientId` (derived from the connection id). It must be new
   * [MQTT-3.2.2-16]: the store should claim it only if no session holds it, and treat a
   * collision (a client that chose that id itself) as a failed claim.
   */
  readonly clientIdAssigned: boolean;
  readonly connectionId: string;
  readonly protocolVersion: ProtocolVersion;
  readonly cleanStart: boolean;
  /** Effective interval in seconds, counted from when the connection closes. */
  readonly sessionExpiryInterval: number;
  /** Arrival order at the gateway: lets the store prefer the later of two racing CONNECTs. */
  readonly requestTimeEpoch: number;
}

/** A v5 DISCONNECT changed the Session Expiry Interval (seconds, already clamped). */
export interface SessionSetExpiryIntent {
  readonly kind: 'session.setExpiry';
  readonly clientId: string;
  readonly connectionId: string;
  readonly sessionExpiryInterval: number;
}

/**
 * Publish this connection's Will Message (honouring its Will Delay Interval and the session's
 * end [MQTT-3.1.2-8]), then remove it [MQTT-3.1.2-10]. The store should take the will
 * atomically so that it fires at most once, whichever of this and `$disconnect` comes first.
 */
export interface WillPublishIntent {
  readonly kind: 'will.publish';
  readonly clientId: string;
  readonly connectionId: string;
  readonly will: Will;
}

/** Delete this connection's Will Message without publishing it [MQTT-3.14.4-3]. */
export interface WillDiscardIntent {
  readonly kind: 'will.discard';
  readonly clientId: string;
  readonly connectionId: string;
}

export type CloseReason =
  /** A CONNACK refused the connection, or 3.1.1 has no return code for the refusal. */
  | 'connect-refused'
  /** The first packet was not a CONNECT [MQTT-3.1.0-1]: close without sending anything. */
  | 'connect-expected'
  /** The server ends an accepted connection (v5: after a DISCONNECT with `reasonCode`). */
  | 'server-disconnect'
  /** The client sent DISCONNECT. */
  | 'client-disconnect';

export interface CloseDirective {
  readonly reason: CloseReason;
  /** The v5 reason code behind the close (for logs and metrics; 0 for a normal close). */
  readonly reasonCode: number;
}

/** What the core decided for one packet. */
export interface Decision {
  readonly kind: 'decision';
  /** The connection state after the packet (unchanged unless a CONNECT was accepted). */
  readonly state: ConnectionState;
  /**
   * The version to encode `send` with. For a CONNECT it is the CONNECT's; when the version is
   * unknown (an undecodable CONNECT) it is 4, the CONNACK form every client version can read.
   */
  readonly protocolVersion: ProtocolVersion;
  readonly send: readonly OutboundPacket[];
  readonly intents: readonly Intent[];
  readonly close: CloseDirective | null;
}

/** A decision that keeps the state and closes nothing. */
export function reply(
  state: ConnectionState,
  protocolVersion: ProtocolVersion,
  send: readonly OutboundPacket[],
  intents: readonly Intent[] = [],
): Decision {
  return { kind: 'decision', state, protocolVersion, send, intents, close: null };
}
