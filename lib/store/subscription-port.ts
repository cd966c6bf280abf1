/**
 * Subscriptions: one record per (client, filter), stored so that a publish finds its candidates
 * without a scan. Each record is stored under the route key of its topic filter (its first two
 * levels, or its literal levels before its first wildcard then '+': `routeKey(topicFilter)` of
 * lib/mqtt/topic.ts), so `routesFor(topic)` is one Query per `candidateRouteKeys(topic)` (at
 * most three, run in parallel: one round trip) and reads only the subscriptions that share the
 * topic's first two levels, or that start with a wildcard, or have one at level 2. The caller
 * re-checks candidates with `matches`.
 *
 * The subscriber's current connection is copied into each of its records (`connection`), so that
 * fan-out needs no session read: `attach` rewrites them on every CONNECT that resumes the session
 * and on every close. Records belong to a session epoch (lib/store/session-port.ts); a clean start
 * deletes the client's records of older epochs.
 *
 * Writes on behalf of a session (issue 13). SUBSCRIBE and UNSUBSCRIBE pass their `SessionWriter`:
 * the write happens only if that connection still owns the session under that epoch (one
 * condition on the session item, settled with the write), else SessionTakenOverError and nothing
 * is written: a late invocation of a superseded connection never acts on the session that
 * replaced it. Routing returns, per client, only the records of its newest epoch, so a record left
 * by an older session never takes the copy meant for the live one.
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

/** The session a SUBSCRIBE or UNSUBSCRIBE writes for: its epoch and the connection that owns it. */
export interface SessionWriter {
  readonly sessionEpoch: string;
  readonly connectionId: string;
}

/** Which epochs `deleteAll` deletes: those older than a new session's, or an ended one and older. */
export type EpochScope = { readonly before: string } | { readonly through: string };

export interface SubscriptionStore {
  /**
   * Every live subscription whose route key is a candidate for `topic`: one round trip. Per
   * client, only the records of its newest epoch (epochs sort in claim order).
   */
  routesFor(topic: string): Promise<SubscriptionRecord[]>;
  /** The client's live subscriptions (index query). */
  listByClient(clientId: string): Promise<SubscriptionRecord[]>;
  /**
   * Stores the records (one client's); a record with the same (clientId, filter) is replaced
   * [MQTT-3.8.4-3], and of two in one call the later wins. With `writer`, only while it owns the
   * session: @throws SessionTakenOverError otherwise, having written nothing. Without: unconditional
   * (tests and tools only).
   */
  put(records: readonly SubscriptionRecord[], writer?: SessionWriter): Promise<void>;
  /**
   * Deletes the client's subscriptions to these filters (as sent, `$share/...` included);
   * idempotent. With `writer`, as for put: @throws SessionTakenOverError, having deleted nothing.
   */
  delete(clientId: string, filters: readonly string[], writer?: SessionWriter): Promise<void>;
  /**
   * Copies the client's current connection into all its records (null: the session is offline)
   * and moves their TTL. Only records of `sessionEpoch` are touched; records of an older epoch are
   * deleted on the way (left over from an ended session); a newer session's are left alone (the
   * caller may be an old connection's late disconnect path).
   */
  attach(
    clientId: string,
    sessionEpoch: string,
    connection: SubscriberConnection | null,
    expiresAt: number,
    options?: AttachOptions,
  ): Promise<void>;
  /**
   * Deletes the client's subscriptions of the epochs in `scope`: `{ before: newEpoch }` when a new
   * session starts (a SUBSCRIBE of the new session that ran first stays), `{ through: epoch }`
   * when a session ended (a newer session's records stay).
   */
  deleteAll(clientId: string, scope: EpochScope): Promise<void>;
  /**
   * Moves the TTL of the client's records of `sessionEpoch` (a v5 DISCONNECT changed the Session
   * Expiry Interval, MQTT 5.0 section 3.14.2.2.2): the subscriptions live as long as the session.
   */
  setExpiry(clientId: string, sessionEpoch: string, expiresAt: number): Promise<void>;
}
