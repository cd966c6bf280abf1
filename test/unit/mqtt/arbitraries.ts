/**
 * fast-check arbitraries producing random VALID packets in canonical form (see lib/mqtt/index.ts)
 * for every packet type and protocol version, so `decode(encode(p))` must deep-equal `p`.
 *
 * Strings mix printable ASCII with any Unicode code point (never U+0000, never a lone surrogate).
 * Topic names have no wildcards and topic filters use them only where a filter may, so the
 * packets are also valid for the topic rules the broker applies on top of the codec.
 */

import fc from 'fast-check';
import { PROPERTIES, type PropertyContext, type PropertyDefinition } from '../../../lib/mqtt/properties';
import { REASON_CODES, type ReasonCodePacketType } from '../../../lib/mqtt/reason-codes';
import type {
  AckPacket, AuthPacket, ConnackPacket, ConnectPacket, DisconnectPacket, Packet, PacketType,
  PingreqPacket, PingrespPacket, Properties, ProtocolVersion, PublishPacket, QoS, SubackPacket,
  SubscribePacket, Subscription, UnsubackPacket, UnsubscribePacket, UserProperty, Will,
} from '../../../lib/mqtt/types';

/** Removes keys whose value is undefined (canonical packets omit absent fields). */
function compact<T extends object>(o: T): T {
  const out = {} as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

export const qosArbitrary: fc.Arbitrary<QoS> = fc.constantFrom(0, 1, 2);
export const packetIdArbitrary = fc.integer({ min: 1, max: 0xffff });

/** A valid MQTT string: printable ASCII or any code point, without U+0000. */
export function mqttString(maxLength = 12): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    )
    .map((s) => s.replace(/\0/g, ''));
}

export const bytesArbitrary = (maxLength = 24): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

const topicLevel = mqttString(6).map((s) => s.replace(/[+#/]/g, ''));

/** A topic name: 1..4 levels, no wildcards, not empty. */
export const topicNameArbitrary: fc.Arbitrary<string> = fc
  .array(topicLevel, { minLength: 1, maxLength: 4 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);

/** A topic filter: levels that may be '+', optionally ending in '#'. */
export const topicFilterArbitrary: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.oneof({ weight: 3, arbitrary: topicLevel }, { weight: 1, arbitrary: fc.constant('+') }), {
      minLength: 1,
      maxLength: 4,
    }),
    fc.boolean(),
  )
  .map(([levels, multi]) => (multi ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

function propertyValue(d: PropertyDefinition, context: PropertyContext): fc.Arbitrary<unknown> {
  const min = d.nonZero ? 1 : 0;
  switch (d.type) {
    case 'byte':
      return fc.constantFrom(0, 1);
    case 'uint16':
      return fc.integer({ min, max: 0xffff });
    case 'uint32':
      return fc.integer({ min, max: 0xffffffff });
    case 'vbi': // Subscription Identifier: repeats in PUBLISH, at most one in SUBSCRIBE
      return fc.array(fc.integer({ min: 1, max: 268_435_455 }), {
        minLength: 1,
        maxLength: context === 'publish' ? 3 : 1,
      });
    case 'utf8':
      return mqttString();
    case 'binary':
      return bytesArbitrary(8);
    case 'utf8Pair':
      return fc.array(fc.tuple(mqttString(6), mqttString(6)) as fc.Arbitrary<UserProperty>, {
        minLength: 1,
        maxLength: 3,
      });
  }
}

/** Properties allowed in `context`, any subset; undefined when the subset is empty. */
export function propertiesArbitrary(context: PropertyContext): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const d of PROPERTIES) if (d.allowedIn.includes(context)) model[d.name] = propertyValue(d, context);
  return fc
    .record(model, { requiredKeys: [] })
    .map((p) => (Object.keys(p).length === 0 ? undefined : (p as Properties)));
}

function v5Properties(version: ProtocolVersion, context: PropertyContext): fc.Arbitrary<Properties | undefined> {
  return version === 5 ? propertiesArbitrary(context) : fc.constant(undefined);
}

/** Reason codes valid for a packet type in v5. */
export function reasonCodesFor(type: ReasonCodePacketType): number[] {
  return [...new Set(REASON_CODES.filter((r) => r.packets.includes(type)).map((r) => r.value))];
}

function willArbitrary(version: ProtocolVersion): fc.Arbitrary<Will> {
  return fc
    .record({
      topic: topicNameArbitrary,
      payload: bytesArbitrary(),
      qos: qosArbitrary,
      retain: fc.boolean(),
      properties: v5Properties(version, 'will'),
    })
    .map(compact);
}

export function connectArbitrary(version: ProtocolVersion): fc.Arbitrary<ConnectPacket> {
  return fc
    .record({
      clean: fc.boolean(),
      keepAlive: fc.integer({ min: 0, max: 0xffff }),
      clientId: mqttString(23),
      username: fc.option(mqttString(), { nil: undefined }),
      password: fc.option(bytesArbitrary(), { nil: undefined }),
      will: fc.option(willArbitrary(version), { nil: undefined }),
      properties: v5Properties(version, 'connect'),
    })
    .map((r) => {
      // (3.1.1: [MQTT-3.1.2-22]) before v5: no password without a user name
      const password = version !== 5 && r.username === undefined ? undefined : r.password;
      return compact<ConnectPacket>({
        type: 'connect',
        protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: version,
        ...r,
        password,
      });
    });
}

export function connackArbitrary(version: ProtocolVersion): fc.Arbitrary<ConnackPacket> {
  const codes = version === 5 ? reasonCodesFor('connack') : [0, 1, 2, 3, 4, 5];
  return fc
    .record({ reasonCode: fc.constantFrom(...codes), sessionPresent: fc.boolean(), properties: v5Properties(version, 'connack') })
    .map((r) => compact<ConnackPacket>({ type: 'connack', ...r, sessionPresent: r.reasonCode === 0 && r.sessionPresent }));
}

export function publishArbitrary(version: ProtocolVersion): fc.Arbitrary<PublishPacket> {
  return fc
    .record({
      topic: topicNameArbitrary,
      payload: bytesArbitrary(64),
      qos: qosArbitrary,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId: packetIdArbitrary,
      properties: v5Properties(version, 'publish'),
    })
    .map((r) =>
      compact<PublishPacket>({
        type: 'publish',
        ...r,
        dup: r.qos > 0 && r.dup, // [MQTT-3.3.1-2]
        packetId: r.qos > 0 ? r.packetId : undefined,
      }),
    );
}

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

export function ackArbitrary<T extends AckType>(type: T, version: ProtocolVersion): fc.Arbitrary<AckPacket<T>> {
  return fc
    .record({
      packetId: packetIdArbitrary,
      reasonCode: version === 5 ? fc.constantFrom(...reasonCodesFor(type)) : fc.constant(undefined),
      properties: v5Properties(version, type),
    })
    .map((r) => compact<AckPacket<T>>({ type, ...r }));
}

function subscriptionArbitrary(version: ProtocolVersion): fc.Arbitrary<Subscription> {
  if (version !== 5) return fc.record({ topicFilter: topicFilterArbitrary, qos: qosArbitrary });
  return fc.record({
    topicFilter: topicFilterArbitrary,
    qos: qosArbitrary,
    noLocal: fc.boolean(),
    retainAsPublished: fc.boolean(),
    retainHandling: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
  });
}

export function subscribeArbitrary(version: ProtocolVersion): fc.Arbitrary<SubscribePacket> {
  return fc
    .record({
      packetId: packetIdArbitrary,
      subscriptions: fc.array(subscriptionArbitrary(version), { minLength: 1, maxLength: 4 }),
      properties: v5Properties(version, 'subscribe'),
    })
    .map((r) => compact<SubscribePacket>({ type: 'subscribe', ...r }));
}

export function subackArbitrary(version: ProtocolVersion): fc.Arbitrary<SubackPacket> {
  const codes = version === 5 ? reasonCodesFor('suback') : [0, 1, 2, 0x80];
  return fc
    .record({
      packetId: packetIdArbitrary,
      reasonCodes: fc.array(fc.constantFrom(...codes), { minLength: 1, maxLength: 4 }),
      properties: v5Properties(version, 'suback'),
    })
    .map((r) => compact<SubackPacket>({ type: 'suback', ...r }));
}

export function unsubscribeArbitrary(version: ProtocolVersion): fc.Arbitrary<UnsubscribePacket> {
  return fc
    .record({
      packetId: packetIdArbitrary,
      topicFilters: fc.array(topicFilterArbitrary, { minLength: 1, maxLength: 4 }),
      properties: v5Properties(version, 'unsubscribe'),
    })
    .map((r) => compact<UnsubscribePacket>({ type: 'unsubscribe', ...r }));
}

export function unsubackArbitrary(version: ProtocolVersion): fc.Arbitrary<UnsubackPacket> {
  const codes =
    version === 5 ? fc.array(fc.constantFrom(...reasonCodesFor('unsuback')), { minLength: 1, maxLength: 4 }) : fc.constant<number[]>([]);
  return fc
    .record({ packetId: packetIdArbitrary, reasonCodes: codes, properties: v5Properties(version, 'unsuback') })
    .map((r) => compact<UnsubackPacket>({ type: 'unsuback', ...r }));
}

export const pingreqArbitrary: fc.Arbitrary<PingreqPacket> = fc.constant({ type: 'pingreq' });
export const pingrespArbitrary: fc.Arbitrary<PingrespPacket> = fc.constant({ type: 'pingresp' });

export function disconnectArbitrary(version: ProtocolVersion): fc.Arbitrary<DisconnectPacket> {
  if (version !== 5) return fc.constant({ type: 'disconnect' });
  return fc
    .record({ reasonCode: fc.constantFrom(...reasonCodesFor('disconnect')), properties: propertiesArbitrary('disconnect') })
    .map((r) => compact<DisconnectPacket>({ type: 'disconnect', ...r }));
}

/** AUTH exists only in v5. */
export function authArbitrary(): fc.Arbitrary<AuthPacket> {
  return fc
    .record({ reasonCode: fc.constantFrom(...reasonCodesFor('auth')), properties: propertiesArbitrary('auth') })
    .map((r) => compact<AuthPacket>({ type: 'auth', ...r }));
}

/** One arbitrary per packet type valid in `version` (no AUTH before v5). */
export function packetArbitraries(version: ProtocolVersion): Partial<Record<PacketType, fc.Arbitrary<Packet>>> {
  const all: Partial<Record<PacketType, fc.Arbitrary<Packet>>> = {
    connect: connectArbitrary(version),
    connack: connackArbitrary(version),
    publish: publishArbitrary(version),
    puback: ackArbitrary('puback', version),
    pubrec: ackArbitrary('pubrec', version),
    pubrel: ackArbitrary('pubrel', version),
    pubcomp: ackArbitrary('pubcomp', version),
    subscribe: subscribeArbitrary(version),
    suback: subackArbitrary(version),
    unsubscribe: unsubscribeArbitrary(version),
    unsuback: unsubackArbitrary(version),
    pingreq: pingreqArbitrary,
    pingresp: pingrespArbitrary,
    disconnect: disconnectArbitrary(version),
  };
  if (version === 5) all.auth = authArbitrary();
  return all;
}

/**
 * Any valid canonical packet for `version`. A CONNECT is always generated for `version` itself,
 * so a stream of these packets decodes with one protocol version throughout.
 */
export function arbitraryPacket(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc.oneof(...(Object.values(packetArbitraries(version)) as fc.Arbitrary<Packet>[]));
}

/** Alias of arbitraryPacket, the name the differential test imports. */
export const packetArbitrary = arbitraryPacket;
