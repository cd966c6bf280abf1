/**
 * Subscriptions: one record per (client, filter), stored so that a publish finds its candidates
 * without a scan. Each record is stored under the route key of its topic filter (the first level,
 * or '+' / '#' for a filter that starts with a wildcard: `filterKey(topicFilter, 1)` of
 * lib/mqtt/topic.ts), so `routesFor(topic)` is one Query per `candidateFilterKeys(topic, 1)`
 * (at most three, run in parallel: one round trip). The caller re-checks candidates with
 * `matches`.
 *
 * The subscriber's current connection is copied into each of its records (`connection`), so that
 * fan-out needs no session read: `attach` rewrites them on every CONNECT that resumes the session
 * and on every close. Records belong to a session epoch (lib/store/session-port.ts); a clean start
 * deletes the client's records.
 */
import type { ProtocolVersion, QoS } from '../mqtt/types';
import type { TransportMode } from '../api-gateway';

/** Where a subscriber is connected now, copied into its subscriptions. */
export interface SubscriberConnection {
  connectionId: string;
  protocolVersion: ProtocolVersion;
  mode: TransportMode;
  /** v5 Receive Maximum the client announced */
  receiveMaximum?: number;
  /** v5 Maximum Packet Size the client announced */
  maximumPacketSize?: number;
}

export interface SubscriptionRecord {
  clientId: string;
  /** The filter as the client sent it, `$share/{group}/` included: the identity of the subscription */
  filter: string;
  /** The filter without a `$share/{group}/` prefix: what topics are matched against */
  topicFilter: string;
  shareName?: string;
  /** Granted QoS */
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier?: number;
  /** The session epoch the subscription belongs to */
  sessionEpoch: string;
  /** The session outlives its connection (expiry > 0): QoS 1/2 messages are queued while offline */
  persistent: boolean;
  /** The subscriber's connection; absent while its session is offline */
  connection?: SubscriberConnection;
  /** TTL, epoch seconds: the end of the session at the latest */
  expiresAt: number;
}

export interface AttachOptions {
  /**
   * Touch only records that still point at this connection: a closing connection clears its own
   * records, never those a resumed session has already pointed at its new connection.
   */
  onlyIfConnectionId?: string;
  /**
   * The session's persistence as the resuming CONNECT set it (its Session Expiry Interval may
   * differ from the one the subscriptions were made under); unchanged if absent.
   */
  persistent?: boolean;
  /**
   * Records of the epoch whose filter (as sent) this answers true for are deleted instead of
   * attached: a resumed session's subscriptions that its access rules no longer allow.
   */
  drop?: (filter: string) => boolean;
}

export interface SubscriptionStore {
  /** Every live subscription whose route key is a candidate for `topic`: one round trip. */
  routesFor(topic: string): Promise<SubscriptionRecord[]>;
  /** The client's live subscriptions (index query). */
  listByClient(clientId: string): Promise<SubscriptionRecord[]>;
  /** Stores the records; a record with the same (clientId, filter) is replaced [MQTT-3.8.4-3]. */
  put(records: readonly SubscriptionRecord[]): Promise<void>;
  /** Deletes the client's subscriptions to these filters (as sent, `$share/...` included); idempotent. */
  delete(clientId: string, filters: readonly string[]): Promise<void>;
  /**
   * Copies the client's current connection into all its records (null: the session is offline)
   * and moves their TTL. Only records of `sessionEpoch` are touched; records of another epoch are
   * deleted on the way (left over from an ended session).
   */
  attach(
    clientId: string,
    sessionEpoch: string,
    connection: SubscriberConnection | null,
    expiresAt: number,
    options?: AttachOptions,
  ): Promise<void>;
  /** Deletes all the client's subscriptions (session ended, or clean start). */
  deleteAll(clientId: string): Promise<void>;
}
