/**
 * The WebSocket messages the handler fuzzer sends: one or more packets, each valid (from
 * ./pool.ts) or mutated (./mutations.ts), then sometimes a mutation of the message itself: cut
 * inside its last packet, trailing bytes, a body that is not base64, a binary frame, no body.
 */
import { connectPacket } from '../helpers/packets';
import { encode, type ConnectPacket, type ProtocolVersion } from '../../lib/mqtt';
import { concat, mutatePacket } from './mutations';
import { pickConnect, pickPacket, type PacketPool } from './pool';
import type { Prng } from './prng';
import type { FrameBody } from './oracle';

export interface Frame extends FrameBody {
  /** Packets put in the message (mutated ones included): what the fuzzer counts. */
  readonly packets: number;
}

/** What the fuzzer knows of a CONNECT it built without mutation, for the session checks. */
export interface StandardConnect {
  readonly clientId: string;
  readonly persistent: boolean;
  /** The will's payload, unique to the session; its topic is `will/{clientId}`. */
  readonly will?: string;
}

export interface ConnectFrame {
  readonly frame: Frame;
  readonly standard?: StandardConnect;
}

/** The first message of a connection: mostly a CONNECT (ours, a random valid one, or mutated), sometimes more packets behind it. */
export function connectFrame(pool: PacketPool, version: ProtocolVersion, prng: Prng, session: number): ConnectFrame {
  const roll = prng.below(100);
  let standard: StandardConnect | undefined;
  let first: Uint8Array;
  if (roll < 95) {
    const own = prng.chance(0.7);
    standard = own ? standardConnect(prng, session) : undefined;
    first = own ? encode(connectOf(version, standard as StandardConnect), version) : pickConnect(pool, version, prng).bytes;
    if (roll >= 80) {
      first = mutatePacket(first, prng, version);
      standard = undefined;
    }
  } else {
    first = pickPacket(pool, version, prng).bytes; // not a CONNECT [MQTT-3.1.0-1]
  }
  const more = prng.chance(0.2) ? packetsOf(pool, version, prng, prng.between(1, 2)) : [];
  const frame = frameOf([first, ...more], prng);
  return { frame, standard: frame.body === base64(concat([first, ...more])) && !frame.isBase64Encoded ? standard : undefined };
}

/** A message of 1..4 packets (half of them 1) after the CONNECT. */
export function dataFrame(pool: PacketPool, version: ProtocolVersion, prng: Prng): Frame {
  const count = prng.chance(0.5) ? 1 : prng.between(2, 4);
  return frameOf(packetsOf(pool, version, prng, count), prng);
}

function packetsOf(pool: PacketPool, version: ProtocolVersion, prng: Prng, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    // now and then a packet of another level (an AUTH in 3.1.1, a v5 property block in 3.1.1...)
    const level = prng.chance(0.03) ? prng.pick([3, 4, 5] as const) : version;
    const valid = pickPacket(pool, level, prng).bytes;
    out.push(prng.chance(0.08) ? mutatePacket(valid, prng, level) : valid);
  }
  return out;
}

function frameOf(packets: Uint8Array[], prng: Prng): Frame {
  const bytes = concat(packets);
  const frame = { packets: packets.length, isBase64Encoded: false };
  if (!prng.chance(0.06)) return { ...frame, body: base64(bytes) };
  const last = packets[packets.length - 1];
  switch (prng.below(5)) {
    case 0: // cut inside the last packet
      return { ...frame, body: base64(bytes.subarray(0, Math.max(0, bytes.length - 1 - prng.below(Math.max(1, last.length - 1))))) };
    case 1: // trailing bytes
      return { ...frame, body: base64(concat([bytes, prng.bytes(prng.between(1, 4))])) };
    case 2: // not base64
      return { ...frame, body: notBase64(base64(bytes), prng) };
    case 3: // a binary frame: the broker takes base64 text only
      return { ...frame, body: base64(bytes), isBase64Encoded: true };
    default:
      return { ...frame, packets: 0, body: '' };
  }
}

function notBase64(body: string, prng: Prng): string {
  const bad = prng.pick(['!', '*', ' ', '\n', '=', '-', '_', '\u00e9', '%']);
  const at = prng.below(body.length + 1);
  return body.slice(0, at) + bad + body.slice(at);
}

function standardConnect(prng: Prng, session: number): StandardConnect {
  const clientId = `fz-${prng.below(8)}`;
  return { clientId, persistent: prng.chance(0.5), ...(prng.chance(0.5) ? { will: `w${session}` } : {}) };
}

/** Our CONNECT: a client id of a small set (sessions are resumed), a QoS 0 will on `will/{clientId}`. */
function connectOf(version: ProtocolVersion, standard: StandardConnect): ConnectPacket {
  const persistent = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 3600 } } : { clean: false };
  const will = standard.will === undefined ? {} : { will: { topic: `will/${standard.clientId}`, payload: new TextEncoder().encode(standard.will), qos: 0 as const, retain: false } };
  return connectPacket(version, { clientId: standard.clientId, ...(standard.persistent ? persistent : {}), ...will });
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
