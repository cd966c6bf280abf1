/**
 * Differential test against mqtt-packet, the parser/generator behind MQTT.js and Aedes:
 * - our bytes, parsed by mqtt-packet, give the same fields as the packet we encoded;
 * - mqtt-packet's bytes (`generate`), decoded by us, give the same fields as the packet it was
 *   given.
 * mqtt-packet names fields differently, so a small explicit mapping translates our packet model
 * to its objects and back. Where mqtt-packet cannot represent something, the arbitraries are
 * restricted and the reason is written next to the restriction.
 */

import fc from 'fast-check';
import * as mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { decodePacket, encode } from '../../../lib/mqtt/index';
import type { Packet, Properties, ProtocolVersion, UserProperty } from '../../../lib/mqtt/types';
import { connectArbitrary, packetArbitrary } from './arbitraries';

type ReferencePacket = mqttPacket.Packet;
type Fields = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Mapping: our model <-> mqtt-packet objects
// ---------------------------------------------------------------------------------------------

/** Byte properties that mqtt-packet exposes as booleans (its 'byte' type); ours are 0/1. */
const BOOLEAN_PROPERTIES = new Set<string>([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
]);

function propertiesToReference(properties: Properties | undefined): Fields | undefined {
  if (properties === undefined) return undefined;
  const out: Fields = {};
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined) continue;
    if (BOOLEAN_PROPERTIES.has(name)) out[name] = value !== 0;
    else if (name === 'subscriptionIdentifiers') {
      const ids = value as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids; // singular name, number or array
    } else if (name === 'userProperties') {
      // mqtt-packet: an object, a repeated name holds an array of its values
      const grouped: Record<string, string | string[]> = Object.create(null);
      for (const [key, v] of value as UserProperty[]) {
        const current = grouped[key];
        grouped[key] = current === undefined ? v : [...(Array.isArray(current) ? current : [current]), v];
      }
      out.userProperties = grouped;
    } else if (value instanceof Uint8Array) out[name] = Buffer.from(value);
    else out[name] = value;
  }
  return out;
}

function propertiesFromReference(properties: Fields | undefined): Properties | undefined {
  if (properties === undefined) return undefined;
  const out: Fields = {};
  for (const [name, value] of Object.entries(properties)) {
    if (BOOLEAN_PROPERTIES.has(name)) out[name] = value ? 1 : 0;
    else if (name === 'subscriptionIdentifier') out.subscriptionIdentifiers = ([] as number[]).concat(value as number);
    else if (name === 'userProperties') {
      out.userProperties = Object.entries(value as Record<string, string | string[]>).flatMap(([key, v]) =>
        (Array.isArray(v) ? v : [v]).map((one): UserProperty => [key, one]),
      );
    } else out[name] = value;
  }
  return out as Properties;
}

const bytes = (data: Uint8Array | undefined): Buffer | undefined => (data === undefined ? undefined : Buffer.from(data));

/** Our packet as mqtt-packet's `generate` wants it. */
function toReference(packet: Packet, version: ProtocolVersion): ReferencePacket {
  const properties = propertiesToReference(packet.type === 'pingreq' || packet.type === 'pingresp' ? undefined : packet.properties);
  const p = packet;
  let out: Fields;
  switch (p.type) {
    case 'connect':
      out = {
        cmd: 'connect',
        protocolId: p.protocolName,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepAlive,
        clientId: p.clientId,
        username: p.username,
        password: bytes(p.password),
        will: p.will && {
          topic: p.will.topic,
          payload: Buffer.from(p.will.payload),
          qos: p.will.qos,
          retain: p.will.retain,
          properties: propertiesToReference(p.will.properties),
        },
      };
      break;
    case 'connack':
      out = { cmd: 'connack', sessionPresent: p.sessionPresent, [version === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode };
      break;
    case 'publish':
      out = { cmd: 'publish', topic: p.topic, payload: Buffer.from(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, messageId: p.packetId };
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      out = { cmd: p.type, messageId: p.packetId, reasonCode: p.reasonCode ?? 0 };
      break;
    case 'subscribe':
      out = {
        cmd: 'subscribe',
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topicFilter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling })),
      };
      break;
    case 'suback':
    case 'unsuback':
      out = { cmd: p.type, messageId: p.packetId, granted: p.reasonCodes };
      break;
    case 'unsubscribe':
      out = { cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.topicFilters };
      break;
    case 'pingreq':
    case 'pingresp':
      out = { cmd: p.type };
      break;
    case 'disconnect':
    case 'auth':
      out = { cmd: p.type, reasonCode: p.reasonCode ?? 0 };
      break;
  }
  if (properties !== undefined) out.properties = properties;
  return dropUndefined(out) as unknown as ReferencePacket;
}

/** mqtt-packet's parsed object as our packet model. Only the fields of the packet's type are read. */
function fromReference(m: ReferencePacket, version: ProtocolVersion): Packet {
  const r = m as unknown as Fields & { properties?: Fields };
  const properties = propertiesFromReference(r.properties);
  const id = r.messageId as number;
  let out: Fields;
  switch (m.cmd) {
    case 'connect': {
      const will = m.will;
      out = {
        type: 'connect',
        protocolName: m.protocolId,
        protocolVersion: m.protocolVersion,
        clean: m.clean,
        keepAlive: m.keepalive,
        clientId: m.clientId,
        username: m.username,
        password: m.password,
        will: will && {
          topic: will.topic,
          payload: will.payload,
          qos: will.qos,
          retain: will.retain,
          properties: propertiesFromReference(will.properties as Fields | undefined),
        },
      };
      break;
    }
    case 'connack':
      out = { type: 'connack', sessionPresent: m.sessionPresent, reasonCode: version === 5 ? m.reasonCode : m.returnCode };
      break;
    case 'publish':
      out = { type: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: m.dup, packetId: m.qos > 0 ? id : undefined };
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      out = { type: m.cmd, packetId: id, reasonCode: r.reasonCode };
      break;
    case 'subscribe':
      out = {
        type: 'subscribe',
        packetId: id,
        subscriptions: m.subscriptions.map((s) => ({ topicFilter: s.topic, qos: s.qos, noLocal: s.nl, retainAsPublished: s.rap, retainHandling: s.rh })),
      };
      break;
    case 'suback':
    case 'unsuback':
      out = { type: m.cmd, packetId: id, reasonCodes: m.granted ?? [] };
      break;
    case 'unsubscribe':
      out = { type: 'unsubscribe', packetId: id, topicFilters: m.unsubscriptions };
      break;
    case 'pingreq':
    case 'pingresp':
      out = { type: m.cmd };
      break;
    case 'disconnect':
    case 'auth':
      out = { type: m.cmd, reasonCode: r.reasonCode };
      break;
  }
  if (properties !== undefined) out.properties = properties;
  return out as unknown as Packet;
}

// ---------------------------------------------------------------------------------------------
// Canonical form for comparison
// ---------------------------------------------------------------------------------------------

function dropUndefined(fields: Fields): Fields {
  for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
  return fields;
}

/**
 * Plain data with the representation differences that carry no meaning removed: bytes as hex,
 * absent = undefined, empty properties = absent, v5 reason code absent = 0, v3/v4 fields that
 * the version cannot carry dropped, and user properties grouped by name (see the restriction).
 */
function canonical(packet: Packet, version: ProtocolVersion): unknown {
  const p = structuredClone(packet) as unknown as Fields;
  canonicalProperties(p);
  if (p.will) canonicalProperties(p.will as Fields);
  if (p.type === 'publish' && p.qos === 0) delete p.packetId;
  if (version === 5 && ['puback', 'pubrec', 'pubrel', 'pubcomp', 'disconnect', 'auth'].includes(p.type as string)) {
    p.reasonCode ??= 0;
  }
  if (version !== 5) {
    if (['puback', 'pubrec', 'pubrel', 'pubcomp', 'disconnect'].includes(p.type as string)) delete p.reasonCode;
    if (p.type === 'unsuback') p.reasonCodes = [];
  }
  if (p.type === 'subscribe') {
    p.subscriptions = (p.subscriptions as Fields[]).map((s) =>
      version === 5
        ? { topicFilter: s.topicFilter, qos: s.qos, noLocal: s.noLocal ?? false, retainAsPublished: s.retainAsPublished ?? false, retainHandling: s.retainHandling ?? 0 }
        : { topicFilter: s.topicFilter, qos: s.qos },
    );
  }
  return toPlain(p);
}

function canonicalProperties(holder: Fields): void {
  const properties = holder.properties as Properties | undefined;
  if (properties === undefined) return;
  // mqtt-packet keeps user properties in an object keyed by name: the order between different
  // names is lost (integer-like names even sort first), only the order within a name survives.
  // A stable sort by name keeps exactly what both sides can represent.
  if (properties.userProperties) {
    properties.userProperties = [...properties.userProperties].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  dropUndefined(properties as Fields);
  if (Object.keys(properties).length === 0) delete holder.properties;
}

function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out: Fields = {};
    for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = toPlain(v);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Restrictions: what mqtt-packet cannot represent or refuses
// ---------------------------------------------------------------------------------------------

function allProperties(packet: Packet): Properties[] {
  const list: Properties[] = [];
  if ('properties' in packet && packet.properties) list.push(packet.properties);
  if (packet.type === 'connect' && packet.will?.properties) list.push(packet.will.properties);
  return list;
}

/** Why mqtt-packet cannot take part for this packet, or undefined when it can. */
function unrepresentable(packet: Packet, version: ProtocolVersion): string | undefined {
  for (const properties of allProperties(packet)) {
    const seen = new Map<string, string>();
    for (const [name, value] of properties.userProperties ?? []) {
      // Its parser tests `if (result[name])`: a repeated name whose first value is '' is
      // overwritten instead of becoming an array.
      if (seen.get(name) === '') return 'repeated user property after an empty value';
      if (!seen.has(name)) seen.set(name, value);
    }
    for (const name of BOOLEAN_PROPERTIES) {
      const value = properties[name as keyof Properties];
      if (value !== undefined && value !== 0 && value !== 1) return 'byte property outside 0/1 (a boolean there)';
    }
  }
  if (packet.type === 'connect') {
    // generate refuses these (valid in v5, or in some cases at all):
    if (packet.password !== undefined && packet.username === undefined) return 'password without user name';
    if (packet.clientId === '' && (version === 3 || !packet.clean)) return 'empty client id';
    if (packet.will?.topic === '') return 'empty will topic';
  }
  if (version === 5 && packet.type === 'disconnect' && packet.reasonCode === 0x8c) {
    // The spec disagrees with itself: Table 2-6 (section 2.4) lists 0x8C Bad authentication
    // method for CONNACK and DISCONNECT, the DISCONNECT table of 3.14.2.1 does not. We follow
    // Table 2-6; mqtt-packet (so MQTT.js) follows 3.14.2.1 and rejects the packet.
    return 'DISCONNECT 0x8C';
  }
  if (version === 5 && packet.type === 'auth' && (packet.reasonCode ?? 0) === 0 && packet.properties === undefined) {
    // Its parser reads a reason code unconditionally: the two-byte AUTH short form (0xF0 0x00)
    // is refused as an invalid reason code.
    return 'AUTH short form';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

function referenceParse(data: Uint8Array, version: ProtocolVersion): ReferencePacket {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: ReferencePacket[] = [];
  const errors: unknown[] = [];
  parser.on('packet', (packet) => packets.push(packet));
  parser.on('error', (error) => errors.push(error));
  parser.parse(Buffer.from(data));
  expect(errors).toEqual([]);
  expect(packets).toHaveLength(1);
  return packets[0];
}

const RUNS = { numRuns: 1000 };

describe.each([4, 5] as const)('differential against mqtt-packet, protocol %d', (version) => {
  const arbitrary = packetArbitrary(version).filter((p) => unrepresentable(p, version) === undefined);

  it('our encoding parses in mqtt-packet to the same fields', () => {
    fc.assert(
      fc.property(arbitrary, (packet) => {
        const parsed = referenceParse(encode(packet, version), version);
        expect(canonical(fromReference(parsed, version), version)).toEqual(canonical(packet, version));
      }),
      RUNS,
    );
  });

  it('mqtt-packet generate decodes in ours to the same fields', () => {
    fc.assert(
      fc.property(arbitrary, (packet) => {
        const generated = mqttPacket.generate(toReference(packet, version), { protocolVersion: version });
        expect(canonical(decodePacket(generated, version), version)).toEqual(canonical(packet, version));
      }),
      RUNS,
    );
  });
});

describe('differential against mqtt-packet, CONNECT in protocol 3 (MQTT 3.1)', () => {
  const arbitrary = connectArbitrary(3).filter((p) => unrepresentable(p, 3) === undefined);

  it('our encoding parses in mqtt-packet to the same fields', () => {
    fc.assert(
      fc.property(arbitrary, (packet) => {
        const parsed = referenceParse(encode(packet, 3), 3);
        expect(canonical(fromReference(parsed, 3), 3)).toEqual(canonical(packet, 3));
      }),
      RUNS,
    );
  });

  it('mqtt-packet generate decodes in ours to the same fields', () => {
    fc.assert(
      fc.property(arbitrary, (packet) => {
        const generated = mqttPacket.generate(toReference(packet, 3), { protocolVersion: 3 });
        expect(canonical(decodePacket(generated, 3), 3)).toEqual(canonical(packet, 3));
      }),
      RUNS,
    );
  });
});
