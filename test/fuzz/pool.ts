/**
 * Valid packets for the handler fuzzer, drawn once per run from the codec's fast-check
 * arbitraries (test/unit/mqtt/arbitraries.ts) and encoded: every packet type, per protocol level.
 * Half of them are bent toward what makes a session do things: topics and filters from a few
 * shared names (so PUBLISHes reach subscribers, this client's own included), small packet ids
 * (so acks meet the broker's in-flight messages), no v5 properties (Topic Aliases and the like
 * close the connection before anything else happens), or the marker property that
 * ./mutations.ts replaces with garbage.
 */
import fc from 'fast-check';
import { encode, type Packet, type PacketType, type ProtocolVersion } from '../../lib/mqtt';
import { packetArbitraries } from '../unit/mqtt/arbitraries';
import { MARKER_PROPERTY } from './mutations';
import type { Prng } from './prng';

export const TOPICS = ['fz/a', 'fz/b', 'fz/c/d'];
const FILTERS = ['fz/#', 'fz/a', 'fz/+', 'fz/c/+', '#'];

export interface PoolEntry {
  readonly type: PacketType;
  readonly packet: Packet;
  readonly bytes: Uint8Array;
}

export type PacketPool = Readonly<Record<ProtocolVersion, ReadonlyMap<PacketType, readonly PoolEntry[]>>>;

const pools = new Map<string, PacketPool>();

/** `perType` packets of each type for each level, the same for the same seed (drawn once per process). */
export function packetPool(seed: number, perType = 48): PacketPool {
  const key = `${seed}/${perType}`;
  const known = pools.get(key);
  if (known !== undefined) return known;
  const pool = { 3: new Map(), 4: new Map(), 5: new Map() } as Record<ProtocolVersion, Map<PacketType, PoolEntry[]>>;
  for (const version of [3, 4, 5] as const) {
    const arbitraries = packetArbitraries(version);
    for (const [type, arbitrary] of Object.entries(arbitraries) as [PacketType, fc.Arbitrary<Packet>][]) {
      const samples = fc.sample(arbitrary, { numRuns: perType, seed: seed + version * 1000 + type.length });
      const entries = samples.map((sample, i) => {
        const packet = i % 2 === 0 ? focus(sample, i, version) : sample;
        return { type, packet, bytes: encode(packet, version) };
      });
      pool[version].set(type, entries);
    }
  }
  pools.set(key, pool);
  return pool;
}

/**
 * How often each type is picked: what clients send, mostly; DISCONNECT, AUTH, a second CONNECT
 * and the packets only a server sends end the connection, so they are rare.
 */
const WEIGHTS: ReadonlyArray<readonly [PacketType, number]> = [
  ['publish', 30], ['subscribe', 12], ['unsubscribe', 6], ['puback', 6], ['pubrec', 6], ['pubrel', 6], ['pubcomp', 6],
  ['pingreq', 8], ['disconnect', 2], ['auth', 1], ['connack', 1], ['suback', 1], ['unsuback', 1], ['pingresp', 1], ['connect', 1],
];
const TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);

/** A random valid packet of `version`, by WEIGHTS (no AUTH before v5). */
export function pickPacket(pool: PacketPool, version: ProtocolVersion, prng: Prng): PoolEntry {
  for (;;) {
    let roll = prng.below(TOTAL);
    const [type] = WEIGHTS.find(([, weight]) => (roll -= weight) < 0) as readonly [PacketType, number];
    const entries = pool[version].get(type);
    if (entries !== undefined) return prng.pick(entries);
  }
}

/** A random valid CONNECT of `version`. */
export function pickConnect(pool: PacketPool, version: ProtocolVersion, prng: Prng): PoolEntry {
  return prng.pick(pool[version].get('connect') as PoolEntry[]);
}

/** Bends a sample toward the shared topics, small packet ids and simple properties. */
function focus(packet: Packet, i: number, version: ProtocolVersion): Packet {
  const shared = (list: readonly string[]) => list[i % list.length];
  const properties = version === 5 && i % 4 === 0 ? { properties: { userProperties: [[...MARKER_PROPERTY] as [string, string]] } } : {};
  const plain = version === 5 ? { ...withoutProperties(packet), ...properties } : packet;
  const packetId = 1 + (i % 4);
  switch (plain.type) {
    case 'publish':
      return { ...plain, topic: shared(TOPICS), ...(plain.qos > 0 ? { packetId } : {}) };
    case 'subscribe':
      return { ...plain, packetId, subscriptions: plain.subscriptions.map((s, j) => ({ ...s, topicFilter: shared(FILTERS.slice(j)) || '#' })) };
    case 'unsubscribe':
      return { ...plain, packetId, topicFilters: plain.topicFilters.map((_, j) => shared(FILTERS.slice(j)) || '#') };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { ...plain, packetId };
    default:
      return plain;
  }
}

function withoutProperties(packet: Packet): Packet {
  if (!('properties' in packet)) return packet;
  const { properties: _dropped, ...rest } = packet;
  return rest as Packet;
}
