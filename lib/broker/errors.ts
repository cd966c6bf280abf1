/**
 * Typed errors of the broker core's semantic (capabilities, authentication) and state layers.
 * They extend the codec's MqttError, so one function (`reaction.ts`) maps every error to its
 * reaction by `reasonCode` and class, never by message text.
 */

import { MqttError } from '../mqtt/errors';

/** 0x82, state layer: a packet that this connection may not send now. */
export class ProtocolStateError extends MqttError {
  readonly reasonCode = 0x82;
}

/**
 * State layer: the first packet on a connection was not a CONNECT [MQTT-3.1.0-1]. The reaction
 * is to close the connection without sending anything.
 */
export class ConnectExpectedError extends ProtocolStateError {}

/** 0x86: the authenticator rejected the user name or password. */
export class BadUserNameOrPasswordError extends MqttError {
  readonly reasonCode = 0x86;
}

/** 0x87: the client is not authorized to connect (or is anonymous when that is not allowed). */
export class NotAuthorizedError extends MqttError {
  readonly reasonCode = 0x87;
}

/** 0x8C: a v5 Authentication Method the server does not support [MQTT-4.12.0-1]. */
export class BadAuthenticationMethodError extends MqttError {
  readonly reasonCode = 0x8c;
}

/**
 * 0x9A: RETAIN 1 while Retain Available is false: a retained Will Message in CONNECT
 * [MQTT-3.2.2-13], or a retained PUBLISH after CONNACK said Retain Available 0 [MQTT-3.2.2-14].
 */
export class RetainNotSupportedError extends MqttError {
  readonly reasonCode = 0x9a;
}

/**
 * 0x9B: a QoS above the server's Maximum QoS: a Will QoS in CONNECT [MQTT-3.2.2-12], or a PUBLISH
 * after CONNACK announced the Maximum QoS [MQTT-3.2.2-11].
 */
export class QoSNotSupportedError extends MqttError {
  readonly reasonCode = 0x9b;
}

/** 0x94, semantic layer: a Topic Alias of 0 or above the Topic Alias Maximum [MQTT-3.3.2-9]. */
export class TopicAliasInvalidError extends MqttError {
  readonly reasonCode = 0x94;
}

/** 0x99, semantic layer: Payload Format Indicator 1 on a payload that is not UTF-8 (3.3.2.3.2). */
export class PayloadFormatInvalidError extends MqttError {
  readonly reasonCode = 0x99;
}

/** 0x9E: a v5 SUBSCRIBE with a Shared Subscription after CONNACK said they are not available. */
export class SharedSubscriptionsNotSupportedError extends MqttError {
  readonly reasonCode = 0x9e;
}

/** 0xA1: a v5 SUBSCRIBE with a Subscription Identifier after CONNACK said they are not available. */
export class SubscriptionIdentifiersNotSupportedError extends MqttError {
  readonly reasonCode = 0xa1;
}

/** 0xA2: a v5 SUBSCRIBE with a wildcard filter after CONNACK said wildcards are not available. */
export class WildcardSubscriptionsNotSupportedError extends MqttError {
  readonly reasonCode = 0xa2;
}

/**
 * 0x96 Message rate too high: a client publishing faster than the per-client limit
 * (lib/runtime/publish-rate.ts). Not a protocol error (MQTT 5.0 section 4.13.2, "other errors"):
 * v5 gets DISCONNECT 0x96, one of the DISCONNECT Reason Codes [MQTT-3.14.2-1], and the connection
 * closes [MQTT-4.13.2-1]; 3.1/3.1.1 have no server DISCONNECT, so the connection just closes.
 * Either way the client sent no DISCONNECT 0x00, so its will is published [MQTT-3.1.2-8].
 */
export class MessageRateTooHighError extends MqttError {
  readonly reasonCode = 0x96;
}

/**
 * 0x83: the server failed to handle a packet for a reason of its own (a store or delivery
 * failure the runtime could not settle). Never the client's fault: its session and messages stay
 * intact, and it reconnects (v5 DISCONNECT 0x83, 3.1.1 close).
 */
export class ImplementationSpecificError extends MqttError {
  readonly reasonCode = 0x83;
}

/** 0x83: the runtime called the core without an input it must provide. A runtime defect. */
export class MissingBrokerInputError extends ImplementationSpecificError {}
