/**
 * Connections: one record per live WebSocket connection (table `connections`), opened by $connect,
 * marked by an accepted CONNECT, removed on close. A leaf module, so that ./scan can use the
 * record type without importing ./ports (which re-exports everything here).
 */
import type { ProtocolVersion } from '../mqtt/types';
import type { ConnectionAcl, PreAuthenticated } from '../auth/types';
import type { TransportMode } from '../api-gateway';

/** 'open' after $connect; 'mqtt' once a CONNECT was accepted. */
export type ConnectionStatus = 'open' | 'mqtt';

/** What the CONNECT packet established; written once per connection by `markConnected`. */
export interface MqttConnectionFields {
  clientId: string;
  protocolVersion: ProtocolVersion;
  /** Keep Alive, seconds, as granted (v5 Server Keep Alive if the server overrode it) */
  keepAlive: number;
  cleanStart: boolean;
  username?: string;
  /** When the CONNECT was accepted, epoch ms */
  mqttConnectedAt: number;
  /** v5 Session Expiry Interval, seconds, as granted */
  sessionExpiryInterval?: number;
  /** v5 Receive Maximum of the client: the most unacknowledged QoS 1/2 deliveries it accepts */
  receiveMaximum?: number;
  /** v5 Maximum Packet Size of the client: nothing larger may be sent to it */
  maximumPacketSize?: number;
  /** v5 Topic Alias Maximum of the client */
  topicAliasMaximum?: number;
  /** The CONNECT carried a will. The will itself lives in the session item, not read per message. */
  hasWill?: boolean;
  /** The session epoch the CONNECT claimed (lib/store/session-port.ts) */
  sessionEpoch?: string;
  /** The authenticated username (absent: anonymous) */
  principal?: string;
  /** The access rules compiled at CONNECT; absent: unrestricted (lib/auth/types.ts) */
  acl?: ConnectionAcl;
}

/** What $connect knows about a new connection; `open` stores it with status 'open'. */
export interface NewConnection {
  connectionId: string;
  mode: TransportMode;
  /** $connect time, epoch ms */
  connectedAt: number;
  /** API Gateway `requestContext.requestTimeEpoch` of $connect, epoch ms */
  requestTimeEpoch?: number;
  sourceIp?: string;
  /** The principal the `$connect` authorizer established from a token, if any */
  preAuth?: PreAuthenticated;
  /** TTL, epoch seconds; the record is invisible once it has passed */
  expiresAt: number;
}

/**
 * One item per live WebSocket connection (table `connections`). New broker state is added as
 * explicit optional fields here and in the DynamoDB codec (one line each), so it stays typed.
 */
export interface ConnectionRecord extends NewConnection, Partial<MqttConnectionFields> {
  status: ConnectionStatus;
}

export interface ReadOptions {
  /** Strongly consistent read (default true: a CONNECT must be visible to the next packet) */
  consistent?: boolean;
}

export interface ConnectionStore {
  /** Stores the record of a new connection ($connect), status 'open'. Overwrites a retry's record. */
  open(connection: NewConnection): Promise<ConnectionRecord>;

  /** The live record, or undefined if missing or expired. */
  get(connectionId: string, options?: ReadOptions): Promise<ConnectionRecord | undefined>;

  /**
   * Records an accepted CONNECT, only if the connection exists and is still 'open'.
   * @throws ConnectionNotFoundError if there is no live record
   * @throws AlreadyConnectedError if a CONNECT was already accepted [MQTT-3.1.0-2]
   * @returns the updated record
   */
  markConnected(connectionId: string, fields: MqttConnectionFields): Promise<ConnectionRecord>;

  /**
   * Changes the transport mode of a live connection.
   * @throws ConnectionNotFoundError if there is no live record
   */
  setMode(connectionId: string, mode: TransportMode): Promise<void>;

  /**
   * Deletes the record; idempotent. Returns the removed record if it was live (so the caller can
   * fire its will), undefined if it was missing or already expired.
   */
  remove(connectionId: string): Promise<ConnectionRecord | undefined>;
}
