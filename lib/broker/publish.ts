/**
 * Inbound PUBLISH, as small named steps:
 *   QoS allowed? -> RETAIN allowed? -> no Subscription Identifier -> topic (Topic Alias, name)
 *   -> Response Topic -> payload format -> allowed by the access rules? -> QoS 2 duplicate?
 *   -> retained -> delivery plan -> ack.
 *
 * Inputs the runtime loads first (`ctx.publish`, see `PublishInputs`):
 * - `routes`: the subscriptions matching the topic name. With Topic Aliases the topic is known
 *   only after resolution: call `publishTopic(packet, state)` to learn which topic to load.
 * - `shareSeed` (optional; default requestTimeEpoch).
 * The connection's Topic Aliases come with the state (`MqttConnectionState.topicAliases`).
 * A QoS 2 duplicate is found by the store: the `qos2.receive` intent is a conditional write, and
 * when it finds the packet id already received the runtime routes nothing more [MQTT-4.3.3-10].
 *
 * Intents, in order: `qos2.receive`, `retained.put` | `retained.delete`, `publish.deliver`. Packets: nothing for QoS 0, PUBACK for QoS 1 [MQTT-4.3.2-4], PUBREC for
 * QoS 2 [MQTT-4.3.3-8], with the PUBLISH's packet id [MQTT-2.2.1-5]. v5: 0x10 No matching
 * subscribers when `routes` is empty (MQTT 5.0 3.4.2.1).
 *
 * Errors (DISCONNECT with the code in v5, close in 3.1.1): 0x9B QoS above Maximum QoS
 * [MQTT-3.2.2-11] (3.3.1.2), 0x9A RETAIN while Retain Available 0 [MQTT-3.2.2-14] (3.3.1.3),
 * 0x82 Subscription Identifier from a client [MQTT-3.3.4-6], 0x94 Topic Alias 0 or above the
 * maximum [MQTT-3.3.2-9] [MQTT-3.2.2-18], 0x82 empty topic without a known alias (3.3.2.3.4),
 * 0x90 invalid topic name [MQTT-3.3.2-2] [MQTT-4.7.3-1], 0x82 wildcard Response Topic
 * [MQTT-3.3.2-14].
 *
 * Payload Format Indicator 1 with a payload that is not UTF-8 (the check is a MAY, 3.3.2.3.2;
 * we do it, as the check is cheap next to a delivery): QoS 1/2 get PUBACK/PUBREC 0x99 and the
 * message is dropped, keeping the connection; QoS 0 has no acknowledgement to carry the code, so
 * it gets DISCONNECT 0x99.
 */

import { canPublish } from '../auth/acl';
import { ProtocolViolationError } from '../mqtt/errors';
import { ReasonCode } from '../mqtt/reason-codes';
import { matches, topicNameViolation, validateTopicName } from '../mqtt/topic';
import type { Properties, PubackPacket, PublishPacket, PubrecPacket } from '../mqtt/types';
import type { BrokerConfig } from './config';
import { reply, type Decision, type Intent } from './decisions';
import { planDelivery } from './delivery';
import {
  PayloadFormatInvalidError,
  QoSNotSupportedError,
  RetainNotSupportedError,
  TopicAliasInvalidError,
} from './errors';
import type { RetainedMessage } from './intents';
import type { BrokerContext, MqttConnectionState, PublishInputs } from './state';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function handlePublish(
  packet: PublishPacket,
  state: MqttConnectionState,
  ctx: BrokerContext,
  inputs: PublishInputs,
): Decision {
  checkQoS(packet, ctx.config);
  checkRetain(packet, ctx.config);
  checkNoSubscriptionIdentifier(packet);
  const resolved = resolveTopic(packet, state, ctx);
  checkResponseTopic(packet);
  const publish: PublishPacket = { ...resolved.packet };
  const next = resolved.state;
  const intents: Intent[] = [];
  if (!payloadFormatValid(packet)) return refusePayload(packet, next, intents);
  if (!canPublish(state.acl ?? null, publish.topic)) return refuseByAcl(packet, next, intents);
  if (packet.qos === 2) {
    // [MQTT-4.3.3-10] a duplicate gets PUBREC again, never a second delivery: the store decides
    intents.push({ kind: 'qos2.receive', clientId: state.clientId, packetId: packet.packetId! });
  }
  const retained = retainIntent(publish, ctx);
  if (retained !== undefined) intents.push(retained);
  const copies = planDelivery(publish, inputs.routes, state.clientId, {
    shareSeed: inputs.shareSeed ?? ctx.requestTimeEpoch,
    now: ctx.now,
  });
  if (copies.length > 0) intents.push({ kind: 'publish.deliver', copies });
  // The routes are the store's candidates (every subscription under the topic's first level):
  // 0x10 when none of them matches, whatever else the planner left out (MQTT 5.0 section 3.4.2.1).
  const matched = inputs.routes.some((r) => matches(r.filter, publish.topic));
  const code = matched ? ReasonCode.Success : ReasonCode.NoMatchingSubscribers;
  const send = packet.qos === 0 ? [] : [ack(packet, state, code)];
  return reply(next, state.protocolVersion, send, intents);
}

/** [MQTT-3.2.2-11] no PUBLISH above the Maximum QoS; the server answers 0x9B (3.3.1.2). */
function checkQoS(packet: PublishPacket, config: BrokerConfig): void {
  if (packet.qos > config.maximumQoS) {
    throw new QoSNotSupportedError('PUBLISH QoS above Maximum QoS', { specRef: 'MQTT-3.2.2-11' });
  }
}

/** [MQTT-3.2.2-14] no RETAIN 1 while Retain Available is 0; the server answers 0x9A (3.3.1.3). */
function checkRetain(packet: PublishPacket, config: BrokerConfig): void {
  if (packet.retain && !config.retainAvailable) {
    throw new RetainNotSupportedError('Retained PUBLISH while Retain Available is 0', { specRef: 'MQTT-3.2.2-14' });
  }
}

/** [MQTT-3.3.4-6] a PUBLISH from a client never carries a Subscription Identifier. */
function checkNoSubscriptionIdentifier(packet: PublishPacket): void {
  if (packet.properties?.subscriptionIdentifiers !== undefined) {
    throw new ProtocolViolationError('Subscription Identifier in a PUBLISH from a client', { specRef: 'MQTT-3.3.4-6' });
  }
}

interface ResolvedTopic {
  /** The PUBLISH with its topic name and without the Topic Alias. */
  readonly packet: PublishPacket;
  readonly state: MqttConnectionState;
}

/**
 * Topic Alias (v5, 3.3.2.3.4): a value of 0 or above our Topic Alias Maximum is 0x94
 * [MQTT-3.3.2-9] (with the default maximum 0, every alias [MQTT-3.2.2-18]). A topic with an
 * alias records the mapping in the connection state (threaded through the packets of one WebSocket
 * message, never stored: the broker advertises Topic Alias Maximum 0 on API Gateway); an empty
 * topic takes the mapped one. Then the
 * name itself is validated: no wildcards [MQTT-3.3.2-2], at least one character [MQTT-4.7.3-1].
 */
function resolveTopic(packet: PublishPacket, state: MqttConnectionState, ctx: BrokerContext): ResolvedTopic {
  const alias = packet.properties?.topicAlias;
  if (alias === undefined) {
    if (packet.topic === '' && state.protocolVersion === 5) {
      throw new ProtocolViolationError('Empty topic name without a Topic Alias (3.3.2.3.4)');
    }
    validateTopicName(packet.topic);
    return { packet: withoutAlias(packet, packet.topic), state };
  }
  if (alias === 0 || alias > ctx.config.topicAliasMaximum) {
    throw new TopicAliasInvalidError('Topic Alias 0 or above the Topic Alias Maximum', { specRef: 'MQTT-3.3.2-9' });
  }
  if (packet.topic === '') {
    const topic = state.topicAliases?.get(alias);
    if (topic === undefined) throw new ProtocolViolationError('Topic Alias not defined on this connection (3.3.2.3.4)');
    return { packet: withoutAlias(packet, topic), state };
  }
  validateTopicName(packet.topic);
  const aliases = new Map(state.topicAliases ?? []);
  aliases.set(alias, packet.topic);
  return { packet: withoutAlias(packet, packet.topic), state: { ...state, topicAliases: aliases } };
}

function withoutAlias(packet: PublishPacket, topic: string): PublishPacket {
  const out: PublishPacket = { ...packet, topic };
  if (packet.properties?.topicAlias === undefined) return out;
  const { topicAlias: _alias, ...rest } = packet.properties;
  if (Object.keys(rest).length === 0) delete out.properties;
  else out.properties = rest;
  return out;
}

/**
 * The topic name a PUBLISH is routed by, after Topic Alias resolution: the runtime calls this to
 * know which routes to load. Undefined when the PUBLISH is invalid (the core will refuse it).
 */
export function publishTopic(packet: PublishPacket, state: MqttConnectionState): string | undefined {
  const topic = packet.topic === '' ? state.topicAliases?.get(packet.properties?.topicAlias ?? 0) : packet.topic;
  return topic !== undefined && topicNameViolation(topic) === undefined ? topic : undefined;
}

/** [MQTT-3.3.2-14] the Response Topic is a topic name: no wildcards. */
function checkResponseTopic(packet: PublishPacket): void {
  const responseTopic = packet.properties?.responseTopic;
  if (responseTopic !== undefined && topicNameViolation(responseTopic) !== undefined) {
    throw new ProtocolViolationError('Response Topic is not a valid topic name', { specRef: 'MQTT-3.3.2-14' });
  }
}

/** Payload Format Indicator 1: the payload must be UTF-8 (3.3.2.3.2). */
function payloadFormatValid(packet: PublishPacket): boolean {
  if (packet.properties?.payloadFormatIndicator !== 1) return true;
  try {
    UTF8.decode(packet.payload);
    return true;
  } catch {
    return false;
  }
}

function refusePayload(packet: PublishPacket, state: MqttConnectionState, intents: Intent[]): Decision {
  if (packet.qos === 0) throw new PayloadFormatInvalidError('Payload is not UTF-8 (Payload Format Indicator 1)');
  return reply(state, state.protocolVersion, [ack(packet, state, ReasonCode.PayloadFormatInvalid)], intents);
}

/**
 * A PUBLISH the access rules do not allow is dropped: not delivered, not retained. v5 QoS 1/2
 * get PUBACK/PUBREC 0x87 Not authorized (3.4.2.1, 3.5.2.1). 3.1.1 has no negative
 * acknowledgement, so QoS 1/2 are acknowledged as usual (the client must not resend forever) and
 * QoS 0 gets nothing; the `publish.denied` intent counts the drop.
 */
function refuseByAcl(packet: PublishPacket, state: MqttConnectionState, intents: Intent[]): Decision {
  intents.push({ kind: 'publish.denied', clientId: state.clientId, topic: packet.topic });
  const code = state.protocolVersion === 5 ? ReasonCode.NotAuthorized : ReasonCode.Success;
  return reply(state, state.protocolVersion, packet.qos === 0 ? [] : [ack(packet, state, code)], intents);
}

/**
 * RETAIN 1 (3.3.1.3): store the message [MQTT-3.3.1-5], or with an empty payload delete the
 * retained one [MQTT-3.3.1-6] and store nothing [MQTT-3.3.1-7]. RETAIN 0 touches nothing
 * [MQTT-3.3.1-8]. Last writer wins by `requestTimeEpoch`.
 */
function retainIntent(publish: PublishPacket, ctx: BrokerContext): Intent | undefined {
  if (!publish.retain) return undefined;
  if (publish.payload.byteLength === 0) {
    return { kind: 'retained.delete', topic: publish.topic, requestTimeEpoch: ctx.requestTimeEpoch };
  }
  const interval = publish.properties?.messageExpiryInterval;
  const properties = retainedProperties(publish.properties);
  const message: RetainedMessage = {
    topic: publish.topic,
    payload: publish.payload,
    qos: publish.qos,
    ...(properties === undefined ? {} : { properties }),
    requestTimeEpoch: ctx.requestTimeEpoch,
    receivedAt: ctx.now,
    expiresAt: interval === undefined ? null : ctx.now + interval * 1000,
  };
  return { kind: 'retained.put', message };
}

function retainedProperties(properties: Properties | undefined): Properties | undefined {
  if (properties === undefined) return undefined;
  const { topicAlias: _a, subscriptionIdentifiers: _s, ...rest } = properties;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

/** PUBACK (QoS 1) or PUBREC (QoS 2) with the PUBLISH's packet id; v5 reason code if not 0. */
function ack(packet: PublishPacket, state: MqttConnectionState, code: number): PubackPacket | PubrecPacket {
  const type = packet.qos === 1 ? 'puback' : 'pubrec';
  const out: PubackPacket | PubrecPacket = { type, packetId: packet.packetId! };
  if (state.protocolVersion === 5 && code !== ReasonCode.Success) out.reasonCode = code;
  return out;
}
