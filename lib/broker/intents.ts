/**
 * The intents of subscriptions, publishing and acknowledgements ("Broker core II"). Each one is
 * a record to write (or a send to plan) that the runtime carries out through the store, in the
 * order the decision lists them, before it sends the decision's packets, except where an intent
 * says otherwise (`retained.send` goes after the packets: the retained messages follow the SUBACK).
 *
 * Identity: `clientId` keys the session state (subscriptions, in-flight and QoS 2 records).
 */

import type { Properties, ProtocolVersion, QoS } from '../mqtt/types';
import type { PlannedCopy } from './delivery';

// ---------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------

/** One subscription accepted by a SUBSCRIBE, as the store keeps it. */
export interface AcceptedSubscription {
  /**
   * The filter exactly as the client sent it, `$share/{ShareName}/` included: the key of the
   * subscription within the session. A put with an existing key replaces that subscription
   * [MQTT-3.8.4-3]; UNSUBSCRIBE deletes by it [MQTT-3.10.4-1].
   */
  readonly filter: string;
  /** The filter topics are matched against (`filter` without the `$share/{ShareName}/` prefix). */
  readonly topicFilter: string;
  /** Set for a Shared Subscription (MQTT 5.0 4.8.2). */
  readonly shareName?: string;
  /** Granted QoS: min(requested, Maximum QoS) [MQTT-3.2.2-10]. */
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** v5 Subscription Identifier of the SUBSCRIBE, if any (3.8.2.1.2). */
  readonly subscriptionIdentifier?: number;
  /** The filter was in `ctx.subscribe.existingFilters` (or earlier in the same SUBSCRIBE). */
  readonly existed: boolean;
}

/**
 * Write these subscriptions of `clientId`'s session, replacing any with the same `filter`
 * [MQTT-3.8.4-3]. The runtime indexes each by `topicFilter` (see `filterKey` in lib/mqtt/topic)
 * so that a PUBLISH finds its routes with key lookups, never a scan.
 */
export interface SubscriptionsPutIntent {
  readonly kind: 'subscriptions.put';
  readonly clientId: string;
  readonly subscriptions: readonly AcceptedSubscription[];
}

/** Delete the subscriptions of `clientId` with exactly these filters; unknown ones are no-ops. */
export interface SubscriptionsDeleteIntent {
  readonly kind: 'subscriptions.delete';
  readonly clientId: string;
  readonly filters: readonly string[];
}

/**
 * Send the retained messages matching `topicFilter` to this connection, AFTER the decision's
 * packets (the SUBACK). One intent per accepted non-shared subscription whose Retain Handling
 * asks for it [MQTT-3.3.1-9] [MQTT-3.3.1-10]. Build each PUBLISH with `retainedPublish` (RETAIN 1,
 * QoS min(message, granted), remaining expiry, the Subscription Identifier); QoS > 0 ones take a
 * packet id and an in-flight slot like any delivery.
 */
export interface RetainedSendIntent {
  readonly kind: 'retained.send';
  readonly protocolVersion: ProtocolVersion;
  readonly topicFilter: string;
  /** The granted QoS of the subscription. */
  readonly qos: QoS;
  readonly subscriptionIdentifier?: number;
}

// ---------------------------------------------------------------------------------------------
// Inbound PUBLISH
// ---------------------------------------------------------------------------------------------

/**
 * Record that `clientId` sent a QoS 2 PUBLISH with `packetId` and it is awaiting PUBREL: a
 * conditional put (only if absent). Listed before `retained.*` and `publish.deliver`. If the
 * condition fails, a concurrent copy of the same PUBLISH won: the runtime must skip the
 * decision's remaining intents (no second delivery [MQTT-4.3.3-10]) and still send its packets
 * (the PUBREC, identical either way).
 */
export interface Qos2ReceiveIntent {
  readonly kind: 'qos2.receive';
  readonly clientId: string;
  readonly packetId: number;
}

/** A retained message as stored (one per topic name). */
export interface RetainedMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  /** v5 properties to forward (no Topic Alias, no Subscription Identifier); absent for v3/v4. */
  readonly properties?: Properties;
  /** Gateway arrival time of the PUBLISH: the last writer (highest value) wins. */
  readonly requestTimeEpoch: number;
  /** ctx.now when the PUBLISH was handled, epoch ms: the start of its Message Expiry. */
  readonly receivedAt: number;
  /** Epoch ms after which it is no longer sent [MQTT-3.3.2-5]; null: it does not expire. */
  readonly expiresAt: number | null;
}

/**
 * Store the retained message for `message.topic`, replacing the existing one [MQTT-3.3.1-5]:
 * a conditional write that succeeds only if no stored message (nor deletion marker) has a later
 * `requestTimeEpoch`, so two racing retained PUBLISHes settle on the later arrival.
 */
export interface RetainedPutIntent {
  readonly kind: 'retained.put';
  readonly message: RetainedMessage;
}

/**
 * Remove the retained message of `topic` [MQTT-3.3.1-6]; a zero-byte message is never stored
 * [MQTT-3.3.1-7]. Same last-writer-wins condition as `retained.put`.
 */
export interface RetainedDeleteIntent {
  readonly kind: 'retained.delete';
  readonly topic: string;
  readonly requestTimeEpoch: number;
}

/**
 * Carry out a delivery plan (see `PlannedCopy`): for each copy,
 * - `queue` true: append to the target session's queue (drop it when `expiresAt` has passed by
 *   the time it is drained);
 * - otherwise QoS 0: post the packet to `connectionId` (a 410 means gone: drop it);
 * - otherwise QoS 1/2: allocate an unused packet id in the target session [MQTT-2.2.1-4] within
 *   its Receive Maximum [MQTT-3.3.4-9], record it in flight and post it, or append it to the
 *   queue when the window is full. A 410 leaves it in flight: resent on resume [MQTT-4.4.0-1].
 */
export interface PublishDeliverIntent {
  readonly kind: 'publish.deliver';
  readonly copies: readonly PlannedCopy[];
}

/**
 * A PUBLISH the connection's access rules do not allow was dropped: nothing to write; the
 * runtime counts it (metric `PublishDenied`), as 3.1.1 clients are told nothing.
 */
export interface PublishDeniedIntent {
  readonly kind: 'publish.denied';
  readonly clientId: string;
  readonly topic: string;
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements
// ---------------------------------------------------------------------------------------------

/**
 * The client acknowledged our QoS 1 PUBLISH `packetId` (PUBACK), or refused our QoS 2 PUBLISH
 * (PUBREC >= 0x80, which also ends it [MQTT-4.4.0-2]): delete the in-flight entry (idempotent),
 * free the packet id, then dispatch the next queued message if the quota allows.
 */
export interface InflightAckIntent {
  readonly kind: 'inflight.ack';
  readonly clientId: string;
  readonly packetId: number;
}

/**
 * The client sent PUBREC for our QoS 2 PUBLISH `packetId`: the in-flight entry becomes a PUBREL
 * awaiting PUBCOMP [MQTT-4.3.3-5]; the PUBLISH is never sent again [MQTT-4.3.3-6].
 */
export interface InflightReleasedIntent {
  readonly kind: 'inflight.released';
  readonly clientId: string;
  readonly packetId: number;
}

/** PUBCOMP for our PUBREL: delete the in-flight entry, free the id, dispatch from the queue. */
export interface InflightCompleteIntent {
  readonly kind: 'inflight.complete';
  readonly clientId: string;
  readonly packetId: number;
}

/**
 * The client released its QoS 2 PUBLISH `packetId` (PUBREL): delete the record written by
 * `qos2.receive` (idempotent); a later PUBLISH with this id is new [MQTT-4.3.3-12].
 */
export interface Qos2ReleaseIntent {
  readonly kind: 'qos2.release';
  readonly clientId: string;
  readonly packetId: number;
}

export type RoutingIntent =
  | SubscriptionsPutIntent
  | SubscriptionsDeleteIntent
  | RetainedSendIntent
  | Qos2ReceiveIntent
  | RetainedPutIntent
  | RetainedDeleteIntent
  | PublishDeliverIntent
  | InflightAckIntent
  | InflightReleasedIntent
  | InflightCompleteIntent
  | Qos2ReleaseIntent
  | PublishDeniedIntent;
