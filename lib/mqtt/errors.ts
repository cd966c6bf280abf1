/**
 * Typed errors of the codec's syntax and semantic layers. Each carries the MQTT 5 reason code that
 * the broker answers with and, where one applies, the normative statement it enforces. Callers
 * identify errors by class or `reasonCode`, never by message text.
 */

export abstract class MqttError extends Error {
  abstract readonly reasonCode: number;
  /** The normative statement enforced, e.g. 'MQTT-2.1.3-1' */
  readonly specRef?: string;

  constructor(message: string, options?: { specRef?: string; cause?: unknown }) {
    super(options?.specRef ? `${message} [${options.specRef}]` : message, { cause: options?.cause });
    this.name = new.target.name;
    this.specRef = options?.specRef;
  }
}

/** 0x81: the bytes do not form a valid packet. */
export class MalformedPacketError extends MqttError {
  readonly reasonCode = 0x81;
}

/** 0x82: well-formed bytes that break a protocol rule. */
export class ProtocolViolationError extends MqttError {
  readonly reasonCode = 0x82;
}

/** 0x84: protocol name or level the server does not support. */
export class UnsupportedProtocolVersionError extends MqttError {
  readonly reasonCode = 0x84;
}

/** 0x85: client identifier not valid. */
export class ClientIdentifierNotValidError extends MqttError {
  readonly reasonCode = 0x85;
}

/** 0x8F: topic filter not valid. */
export class TopicFilterInvalidError extends MqttError {
  readonly reasonCode = 0x8f;
}

/** 0x90: topic name not valid. */
export class TopicNameInvalidError extends MqttError {
  readonly reasonCode = 0x90;
}

/** 0x95: packet larger than the maximum packet size. */
export class PacketTooLargeError extends MqttError {
  readonly reasonCode = 0x95;
}
