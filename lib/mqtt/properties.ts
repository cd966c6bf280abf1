/**
 * MQTT 5.0 properties (section 2.2.2): every property with its identifier and data type, the
 * packets each may appear in, and encode/decode of a property block (Variable Byte Integer length
 * followed by identifier/value pairs).
 *
 * Rules:
 * - An identifier unknown, or not allowed in the packet at hand, is a Malformed Packet (2.2.2.2).
 * - Only User Property and Subscription Identifier may repeat (and Subscription Identifier only in
 *   PUBLISH); any other repeated property is a Protocol Error.
 * - Every Byte property is a 0/1 flag; another value is a Protocol Error. Receive Maximum, Topic
 *   Alias, Maximum Packet Size and Subscription Identifier must not be 0 (Protocol Error).
 * - Decoding an empty block yields `undefined` (canonical form: `properties` omitted when empty).
 */

import { MAX_VBI, Reader, vbiLength, type Writer } from './bytes';
import { MalformedPacketError, ProtocolViolationError } from './errors';
import type { PacketType, Properties, UserProperty } from './types';
import { stringFieldLength } from './utf8';

/** Where a property block sits: a packet's variable header, or a CONNECT's will properties. */
export type PropertyContext = PacketType | 'will';

export type PropertyDataType = 'byte' | 'uint16' | 'uint32' | 'vbi' | 'utf8' | 'binary' | 'utf8Pair';

export interface PropertyDefinition {
  readonly id: number;
  readonly name: keyof Properties;
  readonly type: PropertyDataType;
  /** Where the property may appear */
  readonly allowedIn: readonly PropertyContext[];
  /** May appear more than once (User Property; Subscription Identifier in PUBLISH) */
  readonly repeatable: boolean;
  /** 0 is a Protocol Error for this property */
  readonly nonZero: boolean;
}

const ACKS: PropertyContext[] = ['puback', 'pubrec', 'pubrel', 'pubcomp'];
const MESSAGE: PropertyContext[] = ['publish', 'will'];

function def(
  id: number,
  name: keyof Properties,
  type: PropertyDataType,
  allowedIn: PropertyContext[],
  extra: { repeatable?: boolean; nonZero?: boolean } = {},
): PropertyDefinition {
  return { id, name, type, allowedIn, repeatable: extra.repeatable ?? false, nonZero: extra.nonZero ?? false };
}

/** Table 2-4 of MQTT 5.0. */
export const PROPERTIES: readonly PropertyDefinition[] = [
  def(0x01, 'payloadFormatIndicator', 'byte', MESSAGE),
  def(0x02, 'messageExpiryInterval', 'uint32', MESSAGE),
  def(0x03, 'contentType', 'utf8', MESSAGE),
  def(0x08, 'responseTopic', 'utf8', MESSAGE),
  def(0x09, 'correlationData', 'binary', MESSAGE),
  def(0x0b, 'subscriptionIdentifiers', 'vbi', ['publish', 'subscribe'], { repeatable: true, nonZero: true }),
  def(0x11, 'sessionExpiryInterval', 'uint32', ['connect', 'connack', 'disconnect']),
  def(0x12, 'assignedClientIdentifier', 'utf8', ['connack']),
  def(0x13, 'serverKeepAlive', 'uint16', ['connack']),
  def(0x15, 'authenticationMethod', 'utf8', ['connect', 'connack', 'auth']),
  def(0x16, 'authenticationData', 'binary', ['connect', 'connack', 'auth']),
  def(0x17, 'requestProblemInformation', 'byte', ['connect']),
  def(0x18, 'willDelayInterval', 'uint32', ['will']),
  def(0x19, 'requestResponseInformation', 'byte', ['connect']),
  def(0x1a, 'responseInformation', 'utf8', ['connack']),
  def(0x1c, 'serverReference', 'utf8', ['connack', 'disconnect']),
  def(0x1f, 'reasonString', 'utf8', ['connack', ...ACKS, 'suback', 'unsuback', 'disconnect', 'auth']),
  def(0x21, 'receiveMaximum', 'uint16', ['connect', 'connack'], { nonZero: true }),
  def(0x22, 'topicAliasMaximum', 'uint16', ['connect', 'connack']),
  def(0x23, 'topicAlias', 'uint16', ['publish'], { nonZero: true }),
  def(0x24, 'maximumQoS', 'byte', ['connack']),
  def(0x25, 'retainAvailable', 'byte', ['connack']),
  def(0x26, 'userProperties', 'utf8Pair', [
    'connect', 'connack', 'publish', 'will', ...ACKS, 'subscribe', 'suback', 'unsubscribe', 'unsuback',
    'disconnect', 'auth',
  ], { repeatable: true }),
  def(0x27, 'maximumPacketSize', 'uint32', ['connect', 'connack'], { nonZero: true }),
  def(0x28, 'wildcardSubscriptionAvailable', 'byte', ['connack']),
  def(0x29, 'subscriptionIdentifiersAvailable', 'byte', ['connack']),
  def(0x2a, 'sharedSubscriptionAvailable', 'byte', ['connack']),
];

/** Context codes: the fixed-header packet type number, and 0 (a reserved type) for will. */
const CONTEXT_CODE: Record<PropertyContext, number> = {
  will: 0, connect: 1, connack: 2, publish: 3, puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7,
  subscribe: 8, suback: 9, unsubscribe: 10, unsuback: 11, pingreq: 12, pingresp: 13, disconnect: 14, auth: 15,
};

interface CompiledDefinition extends PropertyDefinition {
  /** Bit n set when allowed in context code n */
  readonly mask: number;
}

const BY_ID: (CompiledDefinition | undefined)[] = [];
const BY_NAME: Record<string, CompiledDefinition> = Object.create(null) as Record<string, CompiledDefinition>;
for (const d of PROPERTIES) {
  let mask = 0;
  for (const c of d.allowedIn) mask |= 1 << CONTEXT_CODE[c];
  const compiled: CompiledDefinition = { ...d, mask };
  BY_ID[d.id] = compiled;
  BY_NAME[d.name] = compiled;
}

/** The definition of a property by identifier or by name. */
export function propertyDefinition(idOrName: number | string): PropertyDefinition | undefined {
  return typeof idOrName === 'number' ? BY_ID[idOrName] : BY_NAME[idOrName];
}

/** True when the property may appear in the given context. */
export function isPropertyAllowed(idOrName: number | string, context: PropertyContext): boolean {
  const d = typeof idOrName === 'number' ? BY_ID[idOrName] : BY_NAME[idOrName];
  return d !== undefined && (d.mask & (1 << CONTEXT_CODE[context])) !== 0;
}

export { CONTEXT_CODE as PROPERTY_CONTEXT_CODE };

function checkValue(d: CompiledDefinition, value: number): void {
  if (d.type === 'byte' && value > 1) {
    throw new ProtocolViolationError(`${d.name} must be 0 or 1`, { specRef: 'MQTT 5.0 section 2.2.2.2' });
  }
  if (d.nonZero && value === 0) {
    const specRef = d.id === 0x23 ? 'MQTT-3.3.2-8' : d.id === 0x0b ? 'MQTT 5.0 section 3.8.2.1.2' : 'MQTT 5.0 section 2.2.2.2';
    throw new ProtocolViolationError(`${d.name} must not be 0`, { specRef });
  }
}

function readValue(r: Reader, d: CompiledDefinition): number | string | Uint8Array | UserProperty {
  switch (d.type) {
    case 'byte':
      return r.u8();
    case 'uint16':
      return r.u16();
    case 'uint32':
      return r.u32();
    case 'vbi':
      return r.vbi();
    case 'utf8':
      return r.utf8();
    case 'binary':
      return r.binary();
    case 'utf8Pair':
      return [r.utf8(), r.utf8()];
  }
}

/**
 * Reads a property block at the reader's position for the given context code (see
 * PROPERTY_CONTEXT_CODE). Returns undefined for an empty block.
 */
export function decodeProperties(r: Reader, context: number): Properties | undefined {
  const len = r.vbi();
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) throw new MalformedPacketError('property length beyond the packet');
  const outerEnd = r.end;
  r.end = end;
  const props: Record<string, unknown> = {};
  while (r.pos < end) {
    const id = r.vbi();
    const d = BY_ID[id];
    if (d === undefined || (d.mask & (1 << context)) === 0) {
      throw new MalformedPacketError(`property 0x${id.toString(16)} not allowed here`, { specRef: 'MQTT 5.0 section 2.2.2.2' });
    }
    const value = readValue(r, d);
    if (typeof value === 'number') checkValue(d, value);
    const prev = props[d.name];
    if (d.repeatable) {
      if (prev === undefined) props[d.name] = [value];
      else if (d.id === 0x0b && context !== 3) {
        throw new ProtocolViolationError('more than one Subscription Identifier', { specRef: 'MQTT 5.0 section 3.8.2.1.2' });
      } else (prev as unknown[]).push(value);
    } else if (prev !== undefined) {
      throw new ProtocolViolationError(`${d.name} included more than once`, { specRef: 'MQTT 5.0 section 2.2.2.2' });
    } else props[d.name] = value;
  }
  r.end = outerEnd;
  return props as Properties;
}

function checkEncodable(d: CompiledDefinition, value: unknown): number {
  switch (d.type) {
    case 'utf8':
      return stringFieldLength(value as string);
    case 'binary': {
      const len = (value as Uint8Array).length;
      if (len > 0xffff) throw new MalformedPacketError(`${d.name} longer than 65535 bytes`);
      return 2 + len;
    }
    case 'utf8Pair': {
      const pair = value as UserProperty;
      return stringFieldLength(pair[0]) + stringFieldLength(pair[1]);
    }
    default: {
      const n = value as number;
      const max = d.type === 'byte' ? 0xff : d.type === 'uint16' ? 0xffff : d.type === 'uint32' ? 0xffffffff : MAX_VBI;
      if (!Number.isInteger(n) || n < 0 || n > max) {
        throw new MalformedPacketError(`${d.name} out of range for its data type`, { specRef: 'MQTT 5.0 section 2.2.2.2' });
      }
      checkValue(d, n);
      return d.type === 'byte' ? 1 : d.type === 'uint16' ? 2 : d.type === 'uint32' ? 4 : vbiLength(n);
    }
  }
}

function lookupForEncode(name: string, context: number): CompiledDefinition {
  const d = BY_NAME[name];
  if (d === undefined || (d.mask & (1 << context)) === 0) {
    throw new MalformedPacketError(`property ${name} not allowed here`, { specRef: 'MQTT 5.0 section 2.2.2.2' });
  }
  return d;
}

/**
 * Validates `props` for the context and returns the length of the block's content (without its
 * Variable Byte Integer length prefix). Empty or undefined properties give 0.
 */
export function propertiesLength(props: Properties | undefined, context: number): number {
  if (props === undefined) return 0;
  let len = 0;
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const d = lookupForEncode(name, context);
    if (!d.repeatable) {
      len += 1 + checkEncodable(d, value);
      continue;
    }
    const list = value as unknown[];
    if (d.id === 0x0b && context !== 3 && list.length > 1) {
      throw new ProtocolViolationError('more than one Subscription Identifier', { specRef: 'MQTT 5.0 section 3.8.2.1.2' });
    }
    for (let i = 0; i < list.length; i++) len += 1 + checkEncodable(d, list[i]);
  }
  if (len > MAX_VBI) throw new MalformedPacketError('property block too long');
  return len;
}

/** Bytes the whole block takes: length prefix plus content. */
export function propertyBlockLength(contentLength: number): number {
  return vbiLength(contentLength) + contentLength;
}

function writeValue(w: Writer, d: CompiledDefinition, value: unknown): void {
  w.u8(d.id);
  switch (d.type) {
    case 'byte':
      return w.u8(value as number);
    case 'uint16':
      return w.u16(value as number);
    case 'uint32':
      return w.u32(value as number);
    case 'vbi':
      return w.vbi(value as number);
    case 'utf8':
      return w.utf8(value as string);
    case 'binary':
      return w.binary(value as Uint8Array);
    case 'utf8Pair':
      w.utf8((value as UserProperty)[0]);
      return w.utf8((value as UserProperty)[1]);
  }
}

/** Writes a property block whose content length `contentLength` came from propertiesLength. */
export function writeProperties(w: Writer, props: Properties | undefined, contentLength: number): void {
  w.vbi(contentLength);
  if (props === undefined || contentLength === 0) return;
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const d = BY_NAME[name];
    if (!d.repeatable) {
      writeValue(w, d, value);
      continue;
    }
    const list = value as unknown[];
    for (let i = 0; i < list.length; i++) writeValue(w, d, list[i]);
  }
}
