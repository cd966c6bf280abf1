/**
 * Between the store's records and the core's plain data: the core never sees a store record, and
 * the store never sees a core type. Pure functions, no I/O.
 */
import { SESSION_NEVER_EXPIRES, type AcceptedSubscription, type ConnectionState, type Route } from '../broker';
import type { Will } from '../mqtt';
import type { ConnectionRecord } from '../store/ports';
import type { SubscriberConnection, SubscriptionRecord } from '../store/subscription-port';

/** Stands for the will kept in the session store: its content is never used from here. */
const WILL_IN_SESSION_STORE: Will = Object.freeze({ topic: '(in session store)', payload: new Uint8Array(0), qos: 0, retain: false });

/** The core's view of a stored connection. */
export function toBrokerState(record: ConnectionRecord): ConnectionState {
  if (record.status !== 'mqtt' || record.clientId === undefined || record.protocolVersion === undefined) {
    return { status: 'open' };
  }
  return {
    status: 'mqtt',
    protocolVersion: record.protocolVersion,
    clientId: record.clientId,
    clientIdAssigned: false,
    keepAlive: record.keepAlive ?? 0,
    sessionExpiryInterval: record.sessionExpiryInterval ?? 0,
    // The core only needs to know whether a will exists (to discard or publish it); the will
    // itself is in the session item, where the disconnect path takes it.
    will: record.hasWill ? WILL_IN_SESSION_STORE : null,
    username: record.username ?? null,
    principal: record.principal ?? null,
    acl: record.acl ?? null,
    clientLimits: {
      receiveMaximum: record.receiveMaximum ?? 65_535,
      maximumPacketSize: record.maximumPacketSize ?? null,
      topicAliasMaximum: record.topicAliasMaximum ?? 0,
    },
  };
}

/**
 * The core's route for a stored subscription. It carries what fan-out needs besides the match
 * (the subscriber's session epoch, persistence and connection), so a planned copy is complete.
 */
export function toRoute(r: SubscriptionRecord): Route {
  return {
    clientId: r.clientId,
    connectionId: r.connection?.connectionId ?? null,
    // Offline: build the v5 form; the encoder drops what an older client cannot read.
    protocolVersion: r.connection?.protocolVersion ?? 5,
    filter: r.topicFilter,
    shareName: r.shareName,
    grantedQos: r.qos,
    noLocal: r.noLocal,
    retainAsPublished: r.retainAsPublished,
    subscriptionIdentifier: r.subscriptionIdentifier,
    receiveMaximum: r.connection?.receiveMaximum,
    maximumPacketSize: r.connection?.maximumPacketSize ?? null,
    sessionEpoch: r.sessionEpoch,
    persistent: r.persistent,
    ...(r.connection === undefined ? {} : { mode: r.connection.mode }),
  };
}

/** The connection as subscriptions record it. */
export function subscriberConnection(record: ConnectionRecord): SubscriberConnection {
  return {
    connectionId: record.connectionId,
    protocolVersion: record.protocolVersion ?? 4,
    mode: record.mode,
    receiveMaximum: record.receiveMaximum,
    maximumPacketSize: record.maximumPacketSize,
  };
}

/** The stored form of a subscription a SUBSCRIBE accepted on this connection. */
export function subscriptionRecord(record: ConnectionRecord, s: AcceptedSubscription, now: number): SubscriptionRecord {
  const expiry = record.sessionExpiryInterval ?? 0;
  return {
    clientId: record.clientId as string,
    filter: s.filter,
    topicFilter: s.topicFilter,
    shareName: s.shareName,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
    subscriptionIdentifier: s.subscriptionIdentifier,
    sessionEpoch: record.sessionEpoch ?? '',
    persistent: expiry > 0,
    connection: subscriberConnection(record),
    expiresAt: subscriptionTtl(now, record.expiresAt, expiry),
  };
}

/** A subscription lives as long as its session can: the connection's TTL plus the session expiry. */
export function subscriptionTtl(now: number, connectionExpiresAt: number, sessionExpiry: number): number {
  const base = Math.max(connectionExpiresAt, Math.floor(now / 1000));
  return sessionExpiry >= SESSION_NEVER_EXPIRES ? base + 100 * 365 * 86_400 : base + sessionExpiry;
}
