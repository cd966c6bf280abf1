/**
 * Publish/subscribe effects: the intents of "Broker core II" carried out through the
 * subscription, retained and message stores and the delivery port.
 *
 * The publish path reads nothing it does not need: the routes of the topic are looked up in
 * parallel with the connection record (see message.ts), each subscription carries its
 * subscriber's connection, and a QoS 0 copy to an online subscriber is posted with no write.
 * A QoS 1/2 copy takes a packet id and a Receive Maximum slot in one conditional write; a
 * persistent subscriber's copy is also kept in flight until acknowledged, so it survives a lost
 * connection and is resent with DUP on resume [MQTT-4.4.0-1].
 */
import {
  planDelivery,
  planResend,
  retainedPublish,
  type Delivery,
  type InflightEntry,
  type RoutingIntent,
  type RetainedSendIntent,
  type Route,
} from '../broker';
import { canSubscribe } from '../auth/acl';
import type { ConnectionAcl } from '../auth/types';
import { encode, type PublishPacket, type QoS, type Will } from '../mqtt';
import type { ConnectionRecord } from '../store/ports';
import type { SubscriberConnection, SubscriptionRecord } from '../store/subscription-port';
import type { InflightMessage } from '../store/message-port';
import type { RuntimeDeps } from './handlers';
import type { TransportMode } from '../api-gateway';

/** What the pub/sub effects of one invocation need to know. */
export interface PubSubContext {
  /** The sender's connection record (after its CONNECT). */
  readonly record: ConnectionRecord;
  readonly gateway: { readonly domainName: string; readonly stage: string };
  /** The subscriptions behind the routes given to the core, by client id. */
  readonly targets: ReadonlyMap<string, SubscriptionRecord>;
  /** Bytes for this connection that must follow the decision's packets (retained after SUBACK). */
  readonly after: Uint8Array[];
}

/** Concurrent posts of one fan-out. */
const FAN_OUT_CONCURRENCY = 32;
/** No Receive Maximum announced: the spec default [MQTT-3.1.2-?, 65535]. */
const DEFAULT_RECEIVE_MAXIMUM = 65_535;

/** The core's routes, and the subscription behind each client, from the stored subscriptions. */
export function toRoutes(records: readonly SubscriptionRecord[]): { routes: Route[]; targets: Map<string, SubscriptionRecord> } {
  const targets = new Map<string, SubscriptionRecord>();
  const routes = records.map((r): Route => {
    targets.set(r.clientId, r);
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
    };
  });
  return { routes, targets };
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

/** Carries out one pub/sub intent. Returns 'skip-rest' when a QoS 2 duplicate must not be routed. */
export async function carryOutPubSub(deps: RuntimeDeps, intent: RoutingIntent, ctx: PubSubContext): Promise<'skip-rest' | undefined> {
  const clientId = ctx.record.clientId as string;
  const epoch = ctx.record.sessionEpoch ?? '';
  switch (intent.kind) {
    case 'subscriptions.put':
      await deps.subscriptions.put(intent.subscriptions.map((s) => subscriptionRecord(deps, ctx.record, s)));
      return undefined;
    case 'subscriptions.delete':
      await deps.subscriptions.delete(intent.clientId, intent.filters);
      return undefined;
    case 'retained.put':
      await deps.retained.put({
        topic: intent.message.topic,
        payload: intent.message.payload,
        qos: intent.message.qos,
        properties: intent.message.properties,
        requestTimeEpoch: intent.message.requestTimeEpoch,
        receivedAt: intent.message.receivedAt,
        messageExpiresAt: intent.message.expiresAt,
      });
      return undefined;
    case 'retained.delete':
      await deps.retained.delete(intent.topic, intent.requestTimeEpoch);
      return undefined;
    case 'retained.send':
      await sendRetained(deps, intent, ctx);
      return undefined;
    case 'qos2.receive':
      // Exactly once: a copy of this PUBLISH already recorded means no second delivery [MQTT-4.3.3-10].
      return (await deps.messages.receiveQos2(clientId, epoch, intent.packetId)) === 'duplicate' ? 'skip-rest' : undefined;
    case 'qos2.release':
      await deps.messages.releaseQos2(clientId, epoch, intent.packetId);
      return undefined;
    case 'publish.deliver':
      await fanOut(deps, intent.deliveries, ctx.targets, ctx.gateway);
      return undefined;
    case 'inflight.ack':
    case 'inflight.complete': {
      // A clean session keeps no in-flight copy; a queue is drained only if something waits.
      const stored = (ctx.record.sessionExpiryInterval ?? 0) > 0;
      const { queued } = await deps.messages.complete(clientId, epoch, intent.packetId, { stored });
      if (queued > 0) await drainQueue(deps, drainTargetOf(ctx.record), ctx.gateway, 1);
      return undefined;
    }
    case 'inflight.released':
      await deps.messages.released(clientId, epoch, intent.packetId);
      return undefined;
    case 'publish.denied':
      deps.metrics.add('PublishDenied');
      deps.log.debug('publish denied by the access rules', { clientId: intent.clientId, topic: intent.topic });
      return undefined;
    case 'topicAlias.set':
      // Aliases live only within one WebSocket message: API Gateway does not keep the order of a
      // connection's messages, so the broker advertises Topic Alias Maximum 0 by default.
      return undefined;
    default:
      return unknownIntent(intent);
  }
}

function subscriptionRecord(
  deps: RuntimeDeps,
  record: ConnectionRecord,
  s: { filter: string; topicFilter: string; shareName?: string; qos: QoS; noLocal: boolean; retainAsPublished: boolean; retainHandling: 0 | 1 | 2; subscriptionIdentifier?: number },
): SubscriptionRecord {
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
    expiresAt: subscriptionTtl(deps, record.expiresAt, expiry),
  };
}

/** A subscription lives as long as its session can: the connection's TTL plus the session expiry. */
export function subscriptionTtl(deps: RuntimeDeps, connectionExpiresAt: number, sessionExpiry: number): number {
  const base = Math.max(connectionExpiresAt, Math.floor(deps.now() / 1000));
  return sessionExpiry >= 0xffffffff ? base + 100 * 365 * 86_400 : base + sessionExpiry;
}

/** Retained messages for a new subscription, after the SUBACK, in this connection's outbox. */
async function sendRetained(deps: RuntimeDeps, intent: RetainedSendIntent, ctx: PubSubContext): Promise<void> {
  const now = deps.now();
  const target = drainTargetOf(ctx.record);
  for (const message of await deps.retained.matching(intent.topicFilter, now)) {
    const packet = retainedPublish({ ...message, expiresAt: message.messageExpiresAt }, intent, now);
    if (packet === undefined) continue;
    const bytes = await prepare(deps, target, packet, message.messageExpiresAt, ctx.record.receiveMaximum);
    if (bytes !== undefined) ctx.after.push(encode(bytes, intent.protocolVersion));
  }
}

interface Target {
  readonly clientId: string;
  readonly sessionEpoch: string;
  readonly persistent: boolean;
}

/**
 * A copy ready to send: QoS 0 as it is; QoS 1/2 with a packet id and a window slot (and kept in
 * flight for a persistent session). undefined: the window is full and the copy was queued.
 */
async function prepare(
  deps: RuntimeDeps,
  target: Target,
  packet: PublishPacket,
  messageExpiresAt: number | null,
  receiveMaximum: number | undefined,
): Promise<PublishPacket | undefined> {
  if (packet.qos === 0) return packet;
  const reservation = await deps.messages.reserve(target.clientId, target.sessionEpoch, receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM);
  if (reservation.outcome === 'window-full') {
    await enqueue(deps, target, packet, messageExpiresAt);
    return undefined;
  }
  const sent: PublishPacket = { ...packet, packetId: reservation.packetId };
  if (target.persistent) {
    await deps.messages.putInflight(target.clientId, target.sessionEpoch, {
      packet,
      messageExpiresAt,
      packetId: reservation.packetId,
      stage: 'publish',
      sequence: reservation.sequence,
    });
  }
  return sent;
}

async function enqueue(deps: RuntimeDeps, target: Target, packet: PublishPacket, messageExpiresAt: number | null): Promise<void> {
  const outcome = await deps.messages.enqueue(target.clientId, target.sessionEpoch, { packet, messageExpiresAt }, deps.maxQueued);
  if (outcome === 'full') {
    deps.metrics.add('QueueOverflows');
    deps.log.warn('queue full: message dropped', { clientId: target.clientId, topic: packet.topic, maxQueued: deps.maxQueued });
  }
}

/** Every copy of a PUBLISH: posted, reserved or queued, with bounded concurrency. */
async function fanOut(
  deps: RuntimeDeps,
  deliveries: readonly Delivery[],
  targets: ReadonlyMap<string, SubscriptionRecord>,
  gateway: PubSubContext['gateway'],
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++];
      // One subscriber's failure must not fail the publisher's acknowledgement: its retry would
      // duplicate every other copy. A transient failure gets one more try; a second failure is
      // counted and logged, and the other copies go on.
      try {
        await deliverOne(deps, delivery, targets, gateway);
      } catch (first) {
        deps.log.warn('delivery failed, retrying once', { clientId: delivery.clientId, error: first });
        try {
          await deliverOne(deps, delivery, targets, gateway);
        } catch (error) {
          deps.metrics.add('DeliveryErrors');
          deps.log.error('delivery failed', { clientId: delivery.clientId, connectionId: delivery.connectionId, error });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FAN_OUT_CONCURRENCY, deliveries.length) }, worker));
}

async function deliverOne(
  deps: RuntimeDeps,
  delivery: Delivery,
  targets: ReadonlyMap<string, SubscriptionRecord>,
  gateway: PubSubContext['gateway'],
): Promise<void> {
  if (delivery.expiresAt !== null && delivery.expiresAt <= deps.now()) return;
  const subscription = targets.get(delivery.clientId);
  if (subscription === undefined) return;
  const target: Target = { clientId: delivery.clientId, sessionEpoch: subscription.sessionEpoch, persistent: subscription.persistent };
  const connection = subscription.connection;
  if (delivery.queue || connection === undefined || delivery.connectionId === null) {
    // Offline: QoS 1/2 wait in a persistent session's queue; QoS 0 is not kept [MQTT-3.1.2-?].
    if (delivery.qos > 0 && subscription.persistent) await enqueue(deps, target, delivery.packet, delivery.expiresAt);
    return;
  }
  const packet = await prepare(deps, target, delivery.packet, delivery.expiresAt, delivery.receiveMaximum);
  if (packet === undefined) {
    // Queued because the window was full. An ack may have freed a slot between the failed
    // reservation and the enqueue, and found nothing to drain: try once, so the copy cannot wait
    // for an ack that never comes.
    await drainQueue(deps, { ...target, connection }, gateway, 1);
    return;
  }
  await post(deps, gateway, connection.connectionId, connection.mode, encode(packet, connection.protocolVersion));
}

/**
 * Publishes a Will Message on behalf of its client [MQTT-3.1.2-8]: routed like a PUBLISH from
 * that client, stored as retained if its retain flag is set, without the Will Delay Interval.
 */
export async function publishWill(deps: RuntimeDeps, will: Will, clientId: string, gateway: PubSubContext['gateway']): Promise<void> {
  const now = deps.now();
  const { willDelayInterval: _delay, ...properties } = will.properties ?? {};
  const hasProperties = Object.keys(properties).length > 0;
  const publish: PublishPacket = {
    type: 'publish',
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    dup: false,
    ...(hasProperties ? { properties } : {}),
  };
  const expiry = properties.messageExpiryInterval;
  if (will.retain) {
    if (will.payload.byteLength === 0) await deps.retained.delete(will.topic, now);
    else {
      await deps.retained.put({
        topic: will.topic,
        payload: will.payload,
        qos: will.qos,
        properties: hasProperties ? properties : undefined,
        requestTimeEpoch: now,
        receivedAt: now,
        messageExpiresAt: expiry === undefined ? null : now + expiry * 1000,
      });
    }
  }
  const { routes, targets } = toRoutes(await deps.subscriptions.routesFor(will.topic));
  await fanOut(deps, planDelivery(publish, routes, clientId, { shareSeed: now, now }), targets, gateway);
  deps.log.info('will published', { clientId, topic: will.topic, copies: routes.length });
}

async function post(
  deps: RuntimeDeps,
  gateway: PubSubContext['gateway'],
  connectionId: string,
  mode: TransportMode,
  bytes: Uint8Array,
): Promise<void> {
  const delivery = deps.deliveryFor(gateway);
  const outcome = await delivery.send(connectionId, bytes, mode);
  deps.metrics.add('MessagesOut');
  deps.metrics.add('BytesOut', bytes.byteLength);
  if (outcome.status === 'gone') deps.metrics.add('Gone410');
  if (outcome.status === 'throttled') {
    // Still throttled after the retries: the copy did not (or only partly) reach the client, and
    // no ack will free its slot. Close the connection; the disconnect path settles the session.
    deps.metrics.add('DeliveryErrors');
    deps.log.warn('delivery throttled: closing the connection', { connectionId, posted: outcome.posted });
    await delivery.close(connectionId);
  }
}

/**
 * Sends queued messages while the Receive Maximum window has room, up to `limit`. Each message
 * is taken from the queue once, after its slot was reserved.
 */
/** Who a queue drain sends to: the session's identity and its current connection. */
export interface DrainTarget {
  readonly clientId: string;
  readonly sessionEpoch: string;
  /** The session outlives its connection: sent copies are kept in flight until acknowledged */
  readonly persistent: boolean;
  readonly connection: SubscriberConnection;
  /** The connection's access rules: a queued message they no longer let it receive is dropped. */
  readonly acl?: ConnectionAcl;
}

/** The drain target of a connection record (after its CONNECT). */
export function drainTargetOf(record: ConnectionRecord): DrainTarget {
  return {
    clientId: record.clientId as string,
    sessionEpoch: record.sessionEpoch ?? '',
    persistent: (record.sessionExpiryInterval ?? 0) > 0,
    connection: subscriberConnection(record),
    ...(record.acl === undefined ? {} : { acl: record.acl }),
  };
}

export async function drainQueue(
  deps: RuntimeDeps,
  target: DrainTarget,
  gateway: PubSubContext['gateway'],
  limit: number,
): Promise<number> {
  const { clientId, sessionEpoch: epoch, persistent, connection } = target;
  let sent = 0;
  while (sent < limit) {
    const reservation = await deps.messages.reserve(clientId, epoch, connection.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM);
    if (reservation.outcome === 'window-full') break;
    const [queued] = await deps.messages.takeQueued(clientId, epoch, 1);
    if (queued === undefined) {
      await deps.messages.complete(clientId, epoch, reservation.packetId, { stored: false });
      break;
    }
    if (target.acl !== undefined && !canSubscribe(target.acl, queued.packet.topic)) {
      // Queued under rules since narrowed (docs/SECURITY.md): dropped, its reservation freed.
      await deps.messages.complete(clientId, epoch, reservation.packetId, { stored: false });
      deps.log.info('queued message no longer allowed dropped', { clientId, topic: queued.packet.topic });
      continue;
    }
    const packet: PublishPacket = { ...withRemainingExpiry(queued.packet, queued.messageExpiresAt, deps.now()), packetId: reservation.packetId };
    if (persistent) {
      await deps.messages.putInflight(clientId, epoch, {
        packet: queued.packet,
        messageExpiresAt: queued.messageExpiresAt,
        packetId: reservation.packetId,
        stage: 'publish',
        sequence: reservation.sequence,
      });
    }
    await post(deps, gateway, connection.connectionId, connection.mode, encode(packet, connection.protocolVersion));
    sent++;
  }
  return sent;
}

/**
 * A resumed session: its subscriptions point at the new connection, unacknowledged messages are
 * resent with DUP 1 and PUBRELs again [MQTT-4.4.0-1], then the queue drains within the window.
 */
export async function resumeSession(deps: RuntimeDeps, record: ConnectionRecord, gateway: PubSubContext['gateway']): Promise<Uint8Array[]> {
  const clientId = record.clientId as string;
  const epoch = record.sessionEpoch ?? '';
  const expiry = record.sessionExpiryInterval ?? 0;
  const acl = record.acl;
  // The resuming CONNECT may persist the session where the old one did not (or the reverse), and
  // its rules may have narrowed since the session subscribed (docs/SECURITY.md): the
  // subscriptions they no longer allow are deleted on the way, in the same pass.
  await deps.subscriptions.attach(clientId, epoch, subscriberConnection(record), subscriptionTtl(deps, record.expiresAt, expiry), {
    persistent: expiry > 0,
    ...(acl === undefined ? {} : { drop: (filter: string) => !canSubscribe(acl, filter) }),
  });
  const inflight = await allowedInflight(deps, record, await deps.messages.inflight(clientId, epoch));
  const entries: InflightEntry[] = inflight.map((m) =>
    m.stage === 'pubrel'
      ? { kind: 'pubrel', sequence: m.sequence, packetId: m.packetId }
      : { kind: 'publish', sequence: m.sequence, packet: { ...withRemainingExpiry(m.packet, m.messageExpiresAt, deps.now()), packetId: m.packetId } },
  );
  return planResend(entries).map((p) => encode(p, record.protocolVersion ?? 4));
}

/**
 * Unacknowledged messages the connection's rules no longer let it receive are not resent: each
 * is completed (its packet id and window slot freed) instead. A PUBREL is always sent again: its
 * message was delivered already.
 */
async function allowedInflight(deps: RuntimeDeps, record: ConnectionRecord, inflight: InflightMessage[]): Promise<InflightMessage[]> {
  const acl = record.acl;
  if (acl === undefined) return inflight;
  const kept: InflightMessage[] = [];
  for (const m of inflight) {
    if (m.stage === 'publish' && !canSubscribe(acl, m.packet.topic)) {
      await deps.messages.complete(record.clientId as string, record.sessionEpoch ?? '', m.packetId, { stored: true });
      deps.log.info('unacknowledged message no longer allowed dropped', { clientId: record.clientId, topic: m.packet.topic });
    } else {
      kept.push(m);
    }
  }
  return kept;
}

/**
 * A stored message as it leaves now: its Message Expiry Interval is what remains of it, not what
 * it arrived with [MQTT-3.3.2-6] (whole seconds, at least 1 while it has not expired).
 */
export function withRemainingExpiry(packet: PublishPacket, messageExpiresAt: number | null, now: number): PublishPacket {
  if (messageExpiresAt === null || packet.properties?.messageExpiryInterval === undefined) return packet;
  const remaining = Math.max(1, Math.ceil((messageExpiresAt - now) / 1000));
  return { ...packet, properties: { ...packet.properties, messageExpiryInterval: remaining } };
}

/** A compile error when an intent kind is not handled; at run time (a newer core) it fails loudly. */
export function unknownIntent(intent: never): never {
  throw new Error(`intent kind not carried out: ${(intent as { kind: string }).kind}`);
}