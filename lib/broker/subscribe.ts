/**
 * SUBSCRIBE, as small named steps:
 *   Subscription Identifier available? -> for each filter, in order [MQTT-3.8.4-5]:
 *   shared? -> valid filter? -> capability (shared, wildcard) -> No Local on shared?
 *   -> allowed by the access rules? -> granted QoS
 *   -> SUBACK (one code per filter, in order) + `subscriptions.put` + `retained.send`.
 *
 * Inputs the runtime loads first: `ctx.subscribe.existingFilters`, the filters (as sent,
 * `$share/...` included) of the client's current subscriptions, for Retain Handling 1.
 *
 * Refusals:
 * - per filter, in the SUBACK: an invalid filter is 0x8F Topic Filter invalid in v5, 0x80 in
 *   3.1.1 [MQTT-3.9.3-2]; the other filters are still handled;
 * - the whole packet, v5: a capability the CONNACK said is not available is a Protocol Error
 *   answered by DISCONNECT (MQTT 5.0 3.2.2.3.11-13): 0xA1 Subscription Identifier, 0x9E Shared
 *   Subscription, 0xA2 wildcard; No Local on a Shared Subscription is 0x82 [MQTT-3.8.3-4].
 * - 3.1.1 clients were told nothing about capabilities, so there a disabled capability fails
 *   only its filter, with 0x80. `$share/{ShareName}/{filter}` is a Shared Subscription in 3.1.1
 *   too (as common brokers do), since 3.1.1 topics cannot start with `$share` usefully.
 */

import { canSubscribe } from '../auth/acl';
import { MqttError } from '../mqtt/errors';
import { ReasonCode } from '../mqtt/reason-codes';
import { parseSharedSubscription, validateTopicFilter } from '../mqtt/topic';
import type { QoS, SubackPacket, SubscribePacket, Subscription } from '../mqtt/types';
import type { BrokerConfig } from './config';
import { reply, type Decision, type Intent } from './decisions';
import {
  ProtocolStateError,
  SharedSubscriptionsNotSupportedError,
  SubscriptionIdentifiersNotSupportedError,
  WildcardSubscriptionsNotSupportedError,
} from './errors';
import type { AcceptedSubscription, RetainedSendIntent } from './intents';
import type { BrokerContext, MqttConnectionState, SubscriptionInputs } from './state';

/** 3.1.1 SUBACK failure return code [MQTT-3.9.3-2 of 3.1.1]. */
const V4_FAILURE = 0x80;

type Outcome = { readonly ok: true; readonly sub: AcceptedSubscription } | { readonly ok: false; readonly code: number };

export function handleSubscribe(
  packet: SubscribePacket,
  state: MqttConnectionState,
  ctx: BrokerContext,
  inputs: SubscriptionInputs,
): Decision {
  const subscriptionIdentifier = readSubscriptionIdentifier(packet, state, ctx.config);
  const known = new Set(inputs.existingFilters);
  const outcomes: Outcome[] = [];
  for (const requested of packet.subscriptions) {
    const outcome = subscribeOne(requested, state, ctx.config, subscriptionIdentifier, known);
    if (outcome.ok) known.add(outcome.sub.filter); // a repeat later in the packet replaces it
    outcomes.push(outcome);
  }
  const accepted = outcomes.flatMap((o) => (o.ok ? [o.sub] : []));
  const intents: Intent[] = [];
  if (accepted.length > 0) intents.push({ kind: 'subscriptions.put', clientId: state.clientId, subscriptions: accepted });
  intents.push(...retainedRequests(accepted, state));
  return reply(state, state.protocolVersion, [suback(packet, outcomes)], intents);
}

/** v5: a Subscription Identifier needs Subscription Identifiers Available (3.2.2.3.12). */
function readSubscriptionIdentifier(packet: SubscribePacket, state: MqttConnectionState, config: BrokerConfig): number | undefined {
  if (state.protocolVersion !== 5) return undefined;
  const id = packet.properties?.subscriptionIdentifiers?.[0];
  if (id !== undefined && !config.subscriptionIdentifiersAvailable) {
    throw new SubscriptionIdentifiersNotSupportedError('Subscription Identifier while not available');
  }
  return id;
}

function subscribeOne(
  requested: Subscription,
  state: MqttConnectionState,
  config: BrokerConfig,
  subscriptionIdentifier: number | undefined,
  known: ReadonlySet<string>,
): Outcome {
  const v5 = state.protocolVersion === 5;
  const filter = requested.topicFilter;
  let target: { topicFilter: string; shareName?: string };
  try {
    target = splitShared(filter);
  } catch (error) {
    if (!(error instanceof MqttError)) throw error;
    // [MQTT-3.9.3-2] 0x8F Topic Filter invalid (v5) / 0x80 (3.1.1)
    return { ok: false, code: v5 ? ReasonCode.TopicFilterInvalid : V4_FAILURE };
  }
  const refused = checkCapabilities(target, requested, config, v5);
  if (refused !== undefined) return { ok: false, code: refused };
  // Access rules: 0x87 Not authorized (v5, 3.9.3), 0x80 in 3.1.1 [MQTT-3.9.3-2 of 3.1.1].
  if (!canSubscribe(state.acl ?? null, filter)) return { ok: false, code: v5 ? ReasonCode.NotAuthorized : V4_FAILURE };
  const sub: AcceptedSubscription = {
    filter,
    topicFilter: target.topicFilter,
    ...(target.shareName === undefined ? {} : { shareName: target.shareName }),
    // [MQTT-3.2.2-10] any requested QoS is accepted; granted = min(requested, Maximum QoS)
    qos: Math.min(requested.qos, config.maximumQoS) as QoS,
    noLocal: requested.noLocal ?? false,
    retainAsPublished: requested.retainAsPublished ?? false,
    retainHandling: requested.retainHandling ?? 0,
    ...(subscriptionIdentifier === undefined ? {} : { subscriptionIdentifier }),
    existed: known.has(filter),
  };
  return { ok: true, sub };
}

/** Splits `$share/{ShareName}/{filter}` and validates the filter; throws 0x8F. */
function splitShared(filter: string): { topicFilter: string; shareName?: string } {
  const shared = parseSharedSubscription(filter); // [MQTT-4.8.2-1] [MQTT-4.8.2-2]
  if (shared !== undefined) return shared;
  validateTopicFilter(filter); // [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1]
  return { topicFilter: filter };
}

/**
 * Capabilities: v5 throws (DISCONNECT) for what CONNACK declared unavailable; 3.1.1 fails the
 * filter with 0x80. Returns the failure code, or undefined when accepted.
 */
function checkCapabilities(
  target: { topicFilter: string; shareName?: string },
  requested: Subscription,
  config: BrokerConfig,
  v5: boolean,
): number | undefined {
  if (target.shareName !== undefined) {
    if (!config.sharedSubscriptionAvailable) {
      if (v5) throw new SharedSubscriptionsNotSupportedError('Shared Subscription while not available');
      return V4_FAILURE;
    }
    if (requested.noLocal === true) {
      throw new ProtocolStateError('No Local on a Shared Subscription', { specRef: 'MQTT-3.8.3-4' });
    }
  }
  if (!config.wildcardSubscriptionAvailable && hasWildcard(target.topicFilter)) {
    if (v5) throw new WildcardSubscriptionsNotSupportedError('Wildcard Subscription while not available');
    return V4_FAILURE;
  }
  return undefined;
}

function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/**
 * Retained messages to send for the accepted subscriptions: Retain Handling 0 always
 * [MQTT-3.3.1-9] (also when replacing [MQTT-3.8.4-4]), 1 only for a new subscription
 * [MQTT-3.3.1-10], 2 never [MQTT-3.3.1-11]. Never for a Shared Subscription (MQTT 5.0 4.8.2:
 * retained messages are not sent when a Shared Subscription is established).
 */
function retainedRequests(accepted: readonly AcceptedSubscription[], state: MqttConnectionState): RetainedSendIntent[] {
  const out: RetainedSendIntent[] = [];
  for (const sub of accepted) {
    if (sub.shareName !== undefined) continue;
    if (sub.retainHandling === 2 || (sub.retainHandling === 1 && sub.existed)) continue;
    out.push({
      kind: 'retained.send',
      protocolVersion: state.protocolVersion,
      topicFilter: sub.topicFilter,
      qos: sub.qos,
      ...(sub.subscriptionIdentifier === undefined ? {} : { subscriptionIdentifier: sub.subscriptionIdentifier }),
    });
  }
  return out;
}

/**
 * SUBACK with the SUBSCRIBE's packet id [MQTT-3.8.4-2], one code per filter [MQTT-3.8.4-6] in
 * the same order [MQTT-3.9.3-1]: the granted QoS or a failure [MQTT-3.8.4-7].
 */
function suback(packet: SubscribePacket, outcomes: readonly Outcome[]): SubackPacket {
  return { type: 'suback', packetId: packet.packetId, reasonCodes: outcomes.map((o) => (o.ok ? o.sub.qos : o.code)) };
}
