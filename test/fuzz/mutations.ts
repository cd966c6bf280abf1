/**
 * Mutations of valid encodings, shared by the codec fuzzer (test/unit/mqtt/fuzz.test.ts) and the
 * handler fuzzer (./handler-fuzzer.ts). Each returns new bytes; the input is never changed. The
 * mutants are not all malformed (a flipped payload bit is still a packet): the fuzzers' oracles
 * judge the bytes they get, never the mutation's intent.
 */
import { PROPERTIES, readRemainingLength, type PropertyDefinition } from '../../lib/mqtt';
import type { Prng } from './prng';

/** Applies one random mutation to a copy of `valid` (the codec fuzzer's seven kinds). */
export function mutate(valid: Uint8Array, next: () => number): Uint8Array {
  const b = valid.slice();
  switch (next() % 7) {
    case 0: // flip one to three bits
      for (let i = 1 + (next() % 3); i > 0; i--) b[next() % b.length] ^= 1 << (next() % 8);
      return b;
    case 1: // truncate
      return b.subarray(0, next() % b.length);
    case 2: // tamper with the remaining length
      if (b.length > 1) b[1] = next() & 0xff;
      return b;
    case 3: // replace one byte
      b[next() % b.length] = next() & 0xff;
      return b;
    case 4: { // insert random bytes
      const at = next() % (b.length + 1);
      const extra = Uint8Array.from({ length: 1 + (next() % 4) }, () => next() & 0xff);
      return splice(b, at, 0, extra);
    }
    case 5: // delete a byte
      return splice(b, next() % b.length, 1, new Uint8Array(0));
    default: // change the packet type, keep the flags
      b[0] = (b[0] & 0x0f) | ((next() % 16) << 4);
      return b;
  }
}

/** `bytes` with `remove` bytes at `at` replaced by `insert`. */
export function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/** A Variable Byte Integer, minimally encoded unless `padding` continuation bytes are asked for. */
export function vbi(n: number, padding = 0): Uint8Array {
  const out: number[] = [];
  do {
    out.push(n % 128);
    n = Math.floor(n / 128);
  } while (n > 0);
  for (let i = 0; i < padding; i++) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return Uint8Array.from(out);
}

/** A packet split into its first byte and body (a valid encoding: the length is well-formed). */
export function parts(packet: Uint8Array): { first: number; body: Uint8Array } {
  const rl = readRemainingLength(packet, 1, packet.length);
  const start = packet.length - rl;
  return { first: packet[0], body: packet.subarray(start) };
}

/** A packet from a first byte and a body, with the Remaining Length of that body. */
export function packet(first: number, body: Uint8Array, padding = 0): Uint8Array {
  const length = vbi(body.length, padding);
  const out = new Uint8Array(1 + length.length + body.length);
  out[0] = first;
  out.set(length, 1);
  out.set(body, 1 + length.length);
  return out;
}

/** Sequences that are not well-formed UTF-8 for MQTT [MQTT-1.5.4-1] [MQTT-1.5.4-2]. */
const BAD_UTF8 = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xff], [0x00], [0xf4, 0x90, 0x80, 0x80], [0xe0, 0x80, 0x80], [0x80], [0xc2]];

/** The handler fuzzer's mutations of one valid packet; `mutate`'s seven kinds among them. */
export function mutatePacket(valid: Uint8Array, prng: Prng, version: number): Uint8Array {
  const { first, body } = parts(valid);
  switch (prng.below(8)) {
    case 0: // reserved flag bits; a PUBLISH with QoS 3 [MQTT-2.1.3-1] [MQTT-3.3.1-4]
      return packet(first >> 4 === 3 ? first | 0x06 : (first & 0xf0) | prng.below(16), body);
    case 1: // a Remaining Length not minimally encoded, or longer than four bytes [MQTT-1.5.5-1]
      return packet(first, body, prng.between(1, 4));
    case 2: // extra bytes inside the packet, the length adjusted to hold them
      return packet(first, concat([body, prng.bytes(prng.between(1, 6))]));
    case 3: // a body cut short, the length adjusted
      return packet(first, body.subarray(0, prng.below(body.length + 1)));
    case 4: // bad UTF-8 over a string's first characters (a PUBLISH topic, a CONNECT protocol name) or anywhere
      return packet(first, overwrite(body, prng.chance(0.5) ? 2 : prng.below(body.length + 1), prng.pick(BAD_UTF8)));
    case 5: // property garbage (v5)
      return version === 5 ? withPropertyGarbage(valid, prng) : mutate(valid, prng.next);
    default:
      return mutate(valid, prng.next);
  }
}

/** `body` with `bytes` written over it at `at` (extended when they run past its end). */
function overwrite(body: Uint8Array, at: number, bytes: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.max(body.length, at + bytes.length));
  out.set(body);
  out.set(bytes, at);
  return out;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The property block of a v5 encoding that carries the marker User Property MARKER_PROPERTY
 * alone: its length byte, then the property. ./pool.ts gives some v5 packets this block, so the
 * block can be found and replaced without a second encoder.
 */
export const MARKER_PROPERTY = ['~~', '~~'] as const;
const MARKER_BLOCK = [0x09, 0x26, 0x00, 0x02, 0x7e, 0x7e, 0x00, 0x02, 0x7e, 0x7e];

/** Replaces the marker property block with garbage; without a marker, inserts the garbage at random. */
function withPropertyGarbage(valid: Uint8Array, prng: Prng): Uint8Array {
  const { first, body } = parts(valid);
  const garbage = propertyGarbage(prng);
  const block = concat([vbi(garbage.length), garbage]);
  const at = indexOf(body, MARKER_BLOCK);
  if (at < 0) return packet(first, splice(body, prng.below(body.length + 1), 0, block));
  return packet(first, splice(body, at, MARKER_BLOCK.length, block));
}

/** 1..4 properties: any identifier (allowed here or not, unknown ones too), duplicates, bad values. */
export function propertyGarbage(prng: Prng): Uint8Array {
  const entries: Uint8Array[] = [];
  for (let i = prng.between(1, 4); i > 0; i--) {
    if (entries.length > 0 && prng.chance(0.3)) entries.push(entries[prng.below(entries.length)]); // duplicated
    else if (prng.chance(0.1)) entries.push(prng.bytes(prng.between(1, 6))); // anything
    else entries.push(propertyEntry(prng.pick(PROPERTIES), prng));
  }
  if (prng.chance(0.1)) entries.push(Uint8Array.of(prng.pick([0x00, 0x04, 0x7f, 0x80]))); // an unknown identifier
  return concat(entries);
}

function propertyEntry(d: PropertyDefinition, prng: Prng): Uint8Array {
  const id = Uint8Array.of(d.id);
  const str = (): Uint8Array => {
    const chars = prng.chance(0.8) ? Uint8Array.from(prng.bytes(prng.below(5)), (b) => 0x61 + (b % 26)) : Uint8Array.from(prng.pick(BAD_UTF8));
    const declared = prng.chance(0.9) ? chars.length : prng.below(300); // sometimes a length that lies
    return concat([Uint8Array.of(declared >> 8, declared & 0xff), chars]);
  };
  switch (d.type) {
    case 'byte':
      return concat([id, Uint8Array.of(prng.pick([0, 1, 2, 0xff]))]);
    case 'uint16':
      return concat([id, prng.chance(0.3) ? new Uint8Array(2) : prng.bytes(2)]);
    case 'uint32':
      return concat([id, prng.chance(0.3) ? new Uint8Array(4) : prng.bytes(4)]);
    case 'vbi':
      return concat([id, prng.chance(0.3) ? Uint8Array.of(0) : vbi(prng.next() % 0x1000_0000, prng.below(2))]);
    case 'utf8':
    case 'binary':
      return concat([id, str()]);
    case 'utf8Pair':
      return concat([id, str(), str()]);
  }
}

function indexOf(haystack: Uint8Array, needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
