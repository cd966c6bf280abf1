/**
 * The delivery planner: from an accepted PUBLISH and the subscriptions that match its topic, the
 * copies to send, one per client (plus one per shared group), as plain data. Pure: the runtime
 * allocates packet ids, applies flow control and posts or queues (see `PublishDeliverIntent`).
 *
 * Steps: defensive re-match -> expiry -> No Local -> shared groups (one member each) and
 * non-shared routes (one copy per client) -> the outgoing PUBLISH -> size check.
 */

import { encodedLength } from '../mqtt/encoder';
import { matches } from '../mqtt/topic';
import type { Properties, ProtocolVersion, PublishPacket, QoS } from '../mqtt/types';
import type { TransportMode } from '../api-gateway';

/** One subscription matching a PUBLISH's topic, as the runtime loads it from the store. */
export interface Route {
  readonly clientId: string;
  /** The live connection of the client's session; null when the client is offline. */
  readonly connectionId: string | null;
  readonly protocolVersion: ProtocolVersion;
  /** The filter topics are matched against, without any `$share/{ShareName}/` prefix. */
  readonly filter: string;
  /** Set for a member of a Shared Subscription group. */
  readonly shareName?: string;
  readonly grantedQos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionIdentifier?: number;
  /** The client's Receive Maximum (v5 CONNECT); for the runtime's flow control. */
  readonly receiveMaximum?: number;
  /** The client's Maximum Packet Size (v5 CONNECT); null or absent: no limit. */
  readonly maximumPacketSize?: number | null;
  /** The subscriber's session: its copies are reserved, kept and queued under this epoch. */
  readonly sessionEpoch: string;
  /** The session outlives its connection: QoS 1/2 copies wait in its queue while it is offline. */
  readonly persistent: boolean;
  /** How the live connection carries bytes; absent while the client is offline. */
  readonly mode?: TransportMode;
}

/** What a copy carries over from its route, so that the runtime needs no second lookup. */
type RouteTarget = Pick<Route, 'clientId' | 'connectionId' | 'protocolVersion' | 'sessionEpoch' | 'persistent' | 'mode'>;

/** One copy of an application message for one client: what the runtime posts, reserves or queues. */
export interface PlannedCopy extends RouteTarget {
  readonly qos: QoS;
  /**
   * The PUBLISH to send, without `packetId` (the runtime allocates one per target session for
   * QoS > 0 [MQTT-2.2.1-4]) and with DUP 0 [MQTT-3.3.1-3]. v5 only: properties.
   */
  readonly packet: PublishPacket;
  /** Offline target and QoS > 0: append to its session's queue (QoS 0 to offline is dropped). */
  readonly queue: boolean;
  /** Epoch ms after which this copy must not be sent [MQTT-3.3.2-5]; null: never expires. */
  readonly expiresAt: number | null;
  /** The client's Receive Maximum, for the runtime's flow control; absent: no limit known. */
  readonly receiveMaximum?: number;
  /** Set when the copy goes to a Shared Subscription group. */
  readonly shareName?: string;
}

export interface DeliveryOptions {
  /** Chooses the member of each shared group, deterministically (e.g. requestTimeEpoch). */
  readonly shareSeed: number;
  /** Current time, epoch ms. */
  readonly now: number;
  /** When the message arrived, epoch ms; default `now` (a message being routed as it arrives). */
  readonly receivedAt?: number;
}

/** The copies of `publish` (topic resolved, no alias) to deliver over `routes`. */
export function planDelivery(
  publish: PublishPacket,
  routes: readonly Route[],
  senderClientId: string,
  options: DeliveryOptions,
): PlannedCopy[] {
  const receivedAt = options.receivedAt ?? options.now;
  const remaining = remainingExpiry(publish.properties?.messageExpiryInterval, receivedAt, options.now);
  if (remaining === 'expired') return []; // [MQTT-3.3.2-5]
  const expiresAt = remaining === undefined ? null : receivedAt + publish.properties!.messageExpiryInterval! * 1000;
  const eligible = routes.filter(
    (r) =>
      // [MQTT-3.3.2-3] the topic must match the filter; `matches` keeps `$` topics away from
      // leading wildcards [MQTT-4.7.2-1]
      matches(r.filter, publish.topic) &&
      // [MQTT-3.8.3-3] No Local: never back to the publishing client
      !(r.noLocal && r.clientId === senderClientId),
  );
  const copies: Copy[] = [...perClient(eligible.filter((r) => r.shareName === undefined))];
  for (const group of sharedGroups(eligible).values()) copies.push(chooseMember(group, options.shareSeed));
  const out: PlannedCopy[] = [];
  for (const copy of copies) {
    const planned = toPlannedCopy(publish, copy, remaining, expiresAt);
    if (planned !== undefined) out.push(planned);
  }
  return out;
}

/** What one copy needs, before the PUBLISH is built. */
interface Copy {
  readonly route: Route;
  readonly qos: QoS;
  readonly retainAsPublished: boolean;
  readonly subscriptionIdentifiers: number[];
}

/**
 * Non-shared routes: ONE copy per client [MQTT-3.3.4-4], at the highest granted QoS of its
 * matching subscriptions [MQTT-3.3.4-2], carrying all their Subscription Identifiers
 * [MQTT-3.3.4-3]. Retain As Published on any of them keeps the RETAIN flag (a merged copy cannot
 * satisfy both [MQTT-3.3.1-12] and [MQTT-3.3.1-13]; the subscription that asked for it wins).
 */
function perClient(routes: readonly Route[]): Copy[] {
  const byClient = new Map<string, Copy>();
  for (const r of routes) {
    const prev = byClient.get(r.clientId);
    const ids = r.subscriptionIdentifier === undefined ? [] : [r.subscriptionIdentifier];
    if (prev === undefined) {
      byClient.set(r.clientId, { route: r, qos: r.grantedQos, retainAsPublished: r.retainAsPublished, subscriptionIdentifiers: ids });
    } else {
      byClient.set(r.clientId, {
        route: prev.route,
        qos: Math.max(prev.qos, r.grantedQos) as QoS,
        retainAsPublished: prev.retainAsPublished || r.retainAsPublished,
        subscriptionIdentifiers: [...prev.subscriptionIdentifiers, ...ids],
      });
    }
  }
  return [...byClient.values()];
}

/** Shared routes grouped by (ShareName, filter): each group is one Shared Subscription. */
function sharedGroups(routes: readonly Route[]): Map<string, Route[]> {
  const groups = new Map<string, Route[]>();
  for (const r of routes) {
    if (r.shareName === undefined) continue;
    const key = `${r.shareName}\u0000${r.filter}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [r]);
    else group.push(r);
  }
  return groups;
}

/**
 * Exactly one member of a shared group receives the message (MQTT 5.0 4.8.2): an online one,
 * picked by `seed` among the members sorted by client id; an offline one (whose queue gets it)
 * only when none is online. Its own subscription's QoS and identifier apply [MQTT-4.8.2-3].
 */
function chooseMember(group: readonly Route[], seed: number): Copy {
  const online = group.filter((r) => r.connectionId !== null);
  const pool = (online.length > 0 ? online : group).slice().sort((a, b) => compare(a.clientId, b.clientId));
  const n = pool.length;
  const route = pool[((Math.trunc(seed) % n) + n) % n];
  const ids = route.subscriptionIdentifier === undefined ? [] : [route.subscriptionIdentifier];
  return { route, qos: route.grantedQos, retainAsPublished: route.retainAsPublished, subscriptionIdentifiers: ids };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toPlannedCopy(
  publish: PublishPacket,
  copy: Copy,
  remaining: number | undefined,
  expiresAt: number | null,
): PlannedCopy | undefined {
  const { route } = copy;
  // [MQTT-3.8.4-8] min(published QoS, granted QoS)
  const qos = Math.min(publish.qos, copy.qos) as QoS;
  const offline = route.connectionId === null;
  if (offline && qos === 0) return undefined; // QoS 0 is not queued for offline clients
  // [MQTT-3.3.1-12] RETAIN 0 unless Retain As Published [MQTT-3.3.1-13]
  const retain = publish.retain && copy.retainAsPublished;
  const packet = outgoingPublish(publish, route.protocolVersion, qos, retain, copy.subscriptionIdentifiers, remaining);
  // [MQTT-3.1.2-25] a packet over the client's Maximum Packet Size is discarded, as if sent
  if (tooLarge(packet, route)) return undefined;
  const planned: PlannedCopy = {
    clientId: route.clientId,
    connectionId: route.connectionId,
    protocolVersion: route.protocolVersion,
    sessionEpoch: route.sessionEpoch,
    persistent: route.persistent,
    qos,
    packet,
    queue: offline,
    expiresAt,
  };
  return {
    ...planned,
    ...(route.mode === undefined ? {} : { mode: route.mode }),
    ...(route.receiveMaximum === undefined ? {} : { receiveMaximum: route.receiveMaximum }),
    ...(route.shareName === undefined ? {} : { shareName: route.shareName }),
  };
}

function tooLarge(packet: PublishPacket, route: Route): boolean {
  const max = route.maximumPacketSize;
  if (max === undefined || max === null) return false;
  const withId = packet.qos > 0 ? { ...packet, packetId: 1 } : packet;
  return encodedLength(withId, route.protocolVersion) > max;
}

/**
 * The PUBLISH as forwarded: DUP 0, no packet id, no Topic Alias (never forwarded; we send none
 * while the client's Topic Alias Maximum is unknown to be used [MQTT-3.3.2-11]). v5 properties
 * pass unaltered: Payload Format Indicator [MQTT-3.3.2-4], Response Topic [MQTT-3.3.2-15],
 * Correlation Data [MQTT-3.3.2-16], User Properties in order [MQTT-3.3.2-17] [MQTT-3.3.2-18],
 * Content Type [MQTT-3.3.2-20]; Message Expiry Interval as what remains [MQTT-3.3.2-6].
 * v3/v4 targets get no properties.
 */
export function outgoingPublish(
  publish: Pick<PublishPacket, 'topic' | 'payload' | 'properties'>,
  version: ProtocolVersion,
  qos: QoS,
  retain: boolean,
  subscriptionIdentifiers: readonly number[],
  remainingExpirySeconds: number | undefined,
): PublishPacket {
  const packet: PublishPacket = { type: 'publish', topic: publish.topic, payload: publish.payload, qos, retain, dup: false };
  if (version !== 5) return packet;
  const properties = forwardedProperties(publish.properties, subscriptionIdentifiers, remainingExpirySeconds);
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function forwardedProperties(
  source: Properties | undefined,
  subscriptionIdentifiers: readonly number[],
  remainingExpirySeconds: number | undefined,
): Properties | undefined {
  const p: Properties = {};
  if (source?.payloadFormatIndicator !== undefined) p.payloadFormatIndicator = source.payloadFormatIndicator;
  if (remainingExpirySeconds !== undefined) p.messageExpiryInterval = remainingExpirySeconds;
  if (source?.contentType !== undefined) p.contentType = source.contentType;
  if (source?.responseTopic !== undefined) p.responseTopic = source.responseTopic;
  if (source?.correlationData !== undefined) p.correlationData = source.correlationData;
  if (source?.userProperties !== undefined) p.userProperties = source.userProperties.map(([k, v]) => [k, v]);
  if (subscriptionIdentifiers.length > 0) p.subscriptionIdentifiers = [...subscriptionIdentifiers];
  return Object.keys(p).length === 0 ? undefined : p;
}

/**
 * The Message Expiry Interval left after waiting since `receivedAt` [MQTT-3.3.2-6], in whole
 * seconds; 'expired' once it has passed [MQTT-3.3.2-5]; undefined when the message has none.
 */
export function remainingExpiry(
  intervalSeconds: number | undefined,
  receivedAt: number,
  now: number,
): number | 'expired' | undefined {
  if (intervalSeconds === undefined) return undefined;
  const waited = Math.max(0, Math.floor((now - receivedAt) / 1000));
  const left = intervalSeconds - waited;
  return left > 0 ? left : 'expired';
}
