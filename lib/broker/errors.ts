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

/** 0x88: the runtime could not reach what it needs (e.g. the store); raised by the runtime. */
export class ServerUnavailableError extends MqttError {
  readonly reasonCode = 0x88;
}

/** 0x89: the runtime is throttled; raised by the runtime. */
export class ServerBusyError extends MqttError {
  readonly reasonCode = 0x89;
}

/** 0x8C: a v5 Authentication Method the server does not support [MQTT-4.12.0-1]. */
export class BadAuthenticationMethodError extends MqttError {
  readonly reasonCode = 0x8c;
}

/** 0x9A: a retained Will Message while Retain Available is false [MQTT-3.2.2-13]. */
export class RetainNotSupportedError extends MqttError {
  readonly reasonCode = 0x9a;
}

/** 0x9B: a Will QoS above the server's Maximum QoS [MQTT-3.2.2-12]. */
export class QoSNotSupportedError extends MqttError {
  readonly reasonCode = 0x9b;
}

/** The runtime called the core without an input it must provide. A programming error. */
export class MissingBrokerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingBrokerInputError';
  }
}
