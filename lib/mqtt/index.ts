/**
 * The MQTT codec: packets <-> bytes for MQTT 3.1 (level 3), 3.1.1 (4) and 5.0 (5). Pure code:
 * no Node Buffer, no I/O, runs in browsers.
 *
 *   encode(packet, protocolVersion): Uint8Array
 *   encodedLength(packet, protocolVersion): number
 *   decodePacket(bytes, protocolVersion): Packet            exactly one whole packet
 *   createDecoder({ protocolVersion?, maxPacketSize? }): DecoderState
 *   decode(state, chunk): { packets, state }                any split of a stream; mutates state
 *
 * Canonical form: what decode returns, and what `decode(encode(p))` gives back deep-equal.
 * - `properties` (packet and will) appear only in v5 and only when non-empty; an empty block
 *   decodes to no `properties` key. `userProperties` and `subscriptionIdentifiers` are arrays in
 *   wire order, present only when non-empty.
 * - v5 PUBACK/PUBREC/PUBREL/PUBCOMP, DISCONNECT and AUTH always carry `reasonCode` (0 when the
 *   wire omits it); v3/v4 packets never carry it. Encoding uses the shortest wire form.
 * - CONNACK always carries `reasonCode`: the v5 reason code, or the 3.1.1 return code (0..5).
 * - PUBLISH `packetId` is present exactly when qos > 0; `dup` and `retain` are always booleans.
 * - Subscriptions carry `noLocal`, `retainAsPublished` and `retainHandling` in v5 only.
 * - UNSUBACK `reasonCodes` is [] in v3/v4.
 * - CONNECT: `username`, `password`, `will` present only when their flags are set.
 * - Binary data (payload, password, correlationData, authenticationData) is a Uint8Array; on
 *   decode it is a zero-copy view into the input chunk or into a buffer the decoder handed over.
 *
 * Errors are the typed MqttError subclasses of ./errors; nothing else is thrown on bad input.
 */

export * from './types';
export * from './errors';
export * from './reason-codes';
export {
  PROPERTIES,
  PROPERTY_CONTEXT_CODE,
  decodeProperties,
  isPropertyAllowed,
  propertiesLength,
  propertyDefinition,
  writeProperties,
  type PropertyContext,
  type PropertyDataType,
  type PropertyDefinition,
} from './properties';
export {
  MAX_PACKET_SIZE,
  createDecoder,
  decode,
  decodePacket,
  type DecodeResult,
  type DecoderOptions,
  type DecoderState,
} from './decoder';
export { encode, encodedLength } from './encoder';
export { MAX_VBI } from './bytes';
export { readRemainingLength } from './remaining-length';
export * from './topic';
export { peekPublishTopic } from './peek';
