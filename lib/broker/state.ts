/**
 * The plain data the core needs about one connection, and the per-invocation context. The
 * runtime maps its store records to these types; no AWS event or store record type appears here.
 */

import type { ProtocolVersion, Will } from '../mqtt/types';
import type { BrokerConfig } from './config';
import type { Route } from './delivery';
import type { ConnectionAcl, PrincipalAccess } from '../auth/types';

/** What the client told us about its own limits in a v5 CONNECT (spec defaults otherwise). */
export interface ClientLimits {
  /** Receive Maximum: QoS 1/2 publishes we may have in flight to it. 65535 when absent. */
  readonly receiveMaximum: number;
  /** Maximum Packet Size it accepts [MQTT-3.1.2-24]; null when absent (no limit). */
  readonly maximumPacketSize: number | null;
  /** Topic Alias Maximum it accepts; 0 when absent: we send no aliases [MQTT-3.1.2-27]. */
  readonly topicAliasMaximum: number;
}

/** Everything an accepted CONNECT established; recorded by `connection.markConnected`. */
export interface ConnectionParams {
  readonly protocolVersion: ProtocolVersion;
  readonly clientId: string;
  /** True when the server assigned the client id [MQTT-3.1.3-6]. */
  readonly clientIdAssigned: boolean;
  /** Effective Keep Alive in seconds (Server Keep Alive when imposed); 0 = none. */
  readonly keepAlive: number;
  /** Effective Session Expiry Interval in seconds (after clamping); 0xFFFFFFFF = never. */
  readonly sessionExpiryInterval: number;
  /** The Will Message, if the CONNECT carried one and it has not been discarded. */
  readonly will: Will | null;
  readonly username: string | null;
  /** The identity the authenticator vouched for, if any. */
  readonly principal: string | null;
  readonly clientLimits: ClientLimits;
  /**
   * The connection's access rules, compiled at CONNECT (lib/auth/acl.ts) and stored with the
   * connection record, so checking a PUBLISH or SUBSCRIBE costs no read. Absent or null:
   * unrestricted (no access control configured).
   */
  readonly acl?: ConnectionAcl | null;
}

/** A WebSocket connection on which no CONNECT has been accepted yet. */
export interface OpenConnectionState {
  readonly status: 'open';
}

/** A connection whose CONNECT was accepted (CONNACK 0 sent). */
export interface MqttConnectionState extends ConnectionParams {
  readonly status: 'mqtt';
  /**
   * v5 inbound Topic Aliases of this network connection: alias -> topic name. Absent = none.
   * Never carried over to another connection [MQTT-3.3.2-7]. Not stored: the core threads them
   * through `Decision.state`, so the packets of one WebSocket message see each other's aliases.
   * Across messages API Gateway keeps no order, so the broker advertises Topic Alias Maximum 0
   * there (lib/runtime/deps.ts refuses any other value).
   */
  readonly topicAliases?: ReadonlyMap<number, string>;
}

export type ConnectionState = OpenConnectionState | MqttConnectionState;

/** The existing session stored for a client id, as far as the core needs to know it. */
export interface SessionSummary {
  /**
   * Epoch ms after which the session no longer exists; null while a connection holds it or when
   * it never expires. TTL deletes late, so the core treats `expiresAt <= now` as no session.
   */
  readonly expiresAt: number | null;
  /**
   * The principal that claimed it (null: anonymous); absent when unknown (access control off).
   * A live session of another principal is not taken over (lib/broker/connect.ts).
   */
  readonly principal?: string | null;
}

/** The authenticator's verdict, produced by the runtime before calling the core. */
export type AuthVerdict =
  | {
      readonly ok: true;
      /**
       * Who the client is, the owner of its sessions; absent for an anonymous client. A password
       * user's name, or `token:NAME` for a token user (lib/auth/types.ts tokenPrincipalId).
       */
      readonly principal?: string;
      /** The name `%u` stands for in access rules; absent: the principal. */
      readonly username?: string;
      /** The principal's rules; absent: unrestricted (no access control configured). */
      readonly access?: PrincipalAccess;
    }
  | { readonly ok: false; readonly reason: 'bad-credentials' | 'not-authorized' };

/** Inputs the runtime must load before the core can decide a CONNECT. */
export interface ConnectInputs {
  readonly auth: AuthVerdict;
  /** The stored session for the CONNECT's client id, or null. Ignored for assigned ids. */
  readonly existingSession: SessionSummary | null;
}

/**
 * Inputs for SUBSCRIBE and UNSUBSCRIBE: the filters of the client's current subscriptions, as
 * the client sent them (`$share/{ShareName}/{filter}` included), compared character by
 * character [MQTT-3.10.4-1]. SUBSCRIBE uses them for Retain Handling 1 [MQTT-3.3.1-10];
 * UNSUBSCRIBE for the v5 reason codes 0x00 / 0x11.
 */
export interface SubscriptionInputs {
  readonly existingFilters: ReadonlySet<string>;
}

/** Inputs for an inbound PUBLISH. */
export interface PublishInputs {
  /**
   * Every subscription whose filter matches the PUBLISH's topic name (after Topic Alias
   * resolution: see `publishTopic`), all clients, shared and non-shared, one entry per
   * subscription. Empty when nothing matches.
   */
  readonly routes: readonly Route[];
  /** Picks the member of each shared group; default `ctx.requestTimeEpoch`. */
  readonly shareSeed?: number;
}

/** Inputs for PUBREL (from the client) and PUBREC (from the client); both optional. */
export interface AckInputs {
  /**
   * PUBREL: whether a QoS 2 receive record exists for the Packet Identifier. PUBREC: whether an
   * outbound QoS 2 PUBLISH is in flight with it. False makes the v5 answer carry 0x92 Packet
   * Identifier not found. Absent: treated as known.
   */
  readonly packetIdKnown: boolean;
}

/** The per-invocation context: configuration, time and identity of the invocation. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  /** Current time, epoch ms. The core has no clock of its own. */
  readonly now: number;
  /** The API Gateway connection id this packet arrived on. */
  readonly connectionId: string;
  /** `requestContext.requestTimeEpoch`: arrival order at the gateway, epoch ms. */
  readonly requestTimeEpoch: number;
  /** Generates a fresh client id; by default `assignedClientIdPrefix + connectionId`. */
  readonly assignClientId?: () => string;
  /** Required when the packet is a CONNECT on an 'open' connection. */
  readonly connect?: ConnectInputs;
  /** Required for SUBSCRIBE (a missing input is a runtime defect: `MissingBrokerInputError`). */
  readonly subscribe?: SubscriptionInputs;
  /** Required for UNSUBSCRIBE. */
  readonly unsubscribe?: SubscriptionInputs;
  /** Required for PUBLISH. */
  readonly publish?: PublishInputs;
  /** Optional for PUBREL and PUBREC. */
  readonly ack?: AckInputs;
}
