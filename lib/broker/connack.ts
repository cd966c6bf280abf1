/**
 * The CONNACK of an accepted CONNECT. For v5 it carries only the properties whose value differs
 * from what their absence means (MQTT 5.0 section 3.2.2.3), keeping the packet small.
 */

import type { ConnackPacket, Properties, ProtocolVersion } from '../mqtt/types';
import type { BrokerConfig } from './config';

export interface ClientIdentity {
  readonly clientId: string;
  /** The server assigned the id to an empty client id [MQTT-3.1.3-6]. */
  readonly assigned: boolean;
}

export interface SessionDecision {
  /** The CONNACK's Session Present flag (always false in 3.1, which has none). */
  readonly sessionPresent: boolean;
  /** Effective Session Expiry Interval, seconds. */
  readonly sessionExpiryInterval: number;
  /** v5: the server granted less than the client asked for, so the CONNACK says so. */
  readonly clamped: boolean;
}

export interface KeepAliveDecision {
  /** Effective Keep Alive, seconds. */
  readonly keepAlive: number;
  /** v5: Server Keep Alive overrides the client's value [MQTT-3.2.2-21]. */
  readonly imposed: boolean;
  /**
   * v5: the CONNACK states the Keep Alive in force as Server Keep Alive, imposed or the client's
   * own (issue 15: the broker's timers then rest on one value both sides hold).
   */
  readonly announced: boolean;
}

/** Absent Receive Maximum means 65,535 (3.2.2.3.3). */
const DEFAULT_RECEIVE_MAXIMUM = 0xffff;

export function buildConnack(
  version: ProtocolVersion,
  config: BrokerConfig,
  identity: ClientIdentity,
  session: SessionDecision,
  keepAlive: KeepAliveDecision,
): ConnackPacket {
  const connack: ConnackPacket = { type: 'connack', sessionPresent: session.sessionPresent, reasonCode: 0 };
  if (version !== 5) return connack;
  return { ...connack, properties: connackProperties(config, identity, session, keepAlive) };
}

function connackProperties(
  config: BrokerConfig,
  identity: ClientIdentity,
  session: SessionDecision,
  keepAlive: KeepAliveDecision,
): Properties {
  // Absent Maximum Packet Size means no limit, so it is always sent.
  const props: Properties = { maximumPacketSize: config.maximumPacketSize };
  if (config.receiveMaximum !== DEFAULT_RECEIVE_MAXIMUM) props.receiveMaximum = config.receiveMaximum;
  // Absent Topic Alias Maximum means 0 [MQTT-3.2.2-18].
  if (config.topicAliasMaximum !== 0) props.topicAliasMaximum = config.topicAliasMaximum;
  // Absent Maximum QoS means 2; a server without QoS 1 or 2 must send it [MQTT-3.2.2-9].
  if (config.maximumQoS < 2) props.maximumQoS = config.maximumQoS;
  // Absent availability flags mean "available".
  if (!config.retainAvailable) props.retainAvailable = 0;
  if (!config.wildcardSubscriptionAvailable) props.wildcardSubscriptionAvailable = 0;
  if (!config.subscriptionIdentifiersAvailable) props.subscriptionIdentifiersAvailable = 0;
  if (!config.sharedSubscriptionAvailable) props.sharedSubscriptionAvailable = 0;
  // The client must use it [MQTT-3.2.2-21]; when it is the client's own value, nothing changes for it.
  if (keepAlive.announced) props.serverKeepAlive = keepAlive.keepAlive;
  // [MQTT-3.1.3-7] [MQTT-3.2.2-16]
  if (identity.assigned) props.assignedClientIdentifier = identity.clientId;
  // Absent Session Expiry Interval means the client's value is used (3.2.2.3.2).
  if (session.clamped) props.sessionExpiryInterval = session.sessionExpiryInterval;
  return props;
}
