/**
 * UNSUBSCRIBE: each filter, compared character by character with the client's subscriptions
 * [MQTT-3.10.4-1], deletes the one it equals; one UNSUBACK for the whole packet [MQTT-3.10.4-6],
 * even when nothing was deleted [MQTT-3.10.4-5], with the packet's id [MQTT-3.10.4-5].
 *
 * Inputs the runtime loads first: `ctx.unsubscribe.existingFilters` (as for SUBSCRIBE).
 *
 * v5 UNSUBACK: one code per filter, in order [MQTT-3.11.3-1]: 0x00 Success, 0x11 No
 * subscription existed, 0x8F Topic Filter invalid [MQTT-3.11.3-2]. 3.1.1 UNSUBACK has none.
 * Intent `subscriptions.delete` lists every valid filter (not only those the input knew: the
 * input may be a moment old, and the delete is idempotent).
 */

import { ReasonCode } from '../mqtt/reason-codes';
import { isValidTopicFilter, parseSharedSubscription } from '../mqtt/topic';
import type { UnsubackPacket, UnsubscribePacket } from '../mqtt/types';
import { reply, type Decision, type Intent } from './decisions';
import type { BrokerContext, MqttConnectionState, SubscriptionInputs } from './state';

export function handleUnsubscribe(
  packet: UnsubscribePacket,
  state: MqttConnectionState,
  _ctx: BrokerContext,
  inputs: SubscriptionInputs,
): Decision {
  const valid = packet.topicFilters.filter(isValidFilter);
  const intents: Intent[] =
    valid.length === 0 ? [] : [{ kind: 'subscriptions.delete', clientId: state.clientId, filters: valid }];
  return reply(state, state.protocolVersion, [unsuback(packet, state, inputs)], intents);
}

function isValidFilter(filter: string): boolean {
  try {
    return parseSharedSubscription(filter) !== undefined || isValidTopicFilter(filter);
  } catch {
    return false; // an invalid `$share/...`
  }
}

function unsuback(packet: UnsubscribePacket, state: MqttConnectionState, inputs: SubscriptionInputs): UnsubackPacket {
  if (state.protocolVersion !== 5) return { type: 'unsuback', packetId: packet.packetId, reasonCodes: [] };
  const reasonCodes = packet.topicFilters.map((filter) => {
    if (!isValidFilter(filter)) return ReasonCode.TopicFilterInvalid;
    return inputs.existingFilters.has(filter) ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted;
  });
  return { type: 'unsuback', packetId: packet.packetId, reasonCodes };
}
