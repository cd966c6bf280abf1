/**
 * Runs every byte vector of vectors.ts as a decode test, an encode test and a round trip.
 */

import { describe, expect, it } from 'vitest';
import { createDecoder, decode, decodePacket, encode, encodedLength } from '../../../lib/mqtt/index';
import type { PublishPacket } from '../../../lib/mqtt/types';
import { REMAINING_LENGTH_VECTORS, V3_VECTORS, V4_VECTORS, V5_VECTORS, type Vector } from './vectors';

/** The one helper: each vector becomes decode, encode and round-trip tests. */
function vectorTests(vectors: Vector[]): void {
  for (const v of vectors) {
    describe(v.name, () => {
      const bytes = Uint8Array.from(v.bytes);

      it('decodes to the packet', () => {
        expect(decodePacket(bytes, v.version)).toEqual(v.packet);
        const { packets } = decode(createDecoder({ protocolVersion: v.version }), bytes);
        expect(packets).toEqual([v.packet]);
      });

      if (v.decodeOnly) return;

      it('encodes to the bytes', () => {
        expect(Array.from(encode(v.packet, v.version))).toEqual(v.bytes);
        expect(encodedLength(v.packet, v.version)).toBe(v.bytes.length);
      });

      it('round-trips', () => {
        expect(decodePacket(encode(v.packet, v.version), v.version)).toEqual(v.packet);
      });
    });
  }
}

describe('MQTT 3.1 vectors', () => vectorTests(V3_VECTORS));
describe('MQTT 3.1.1 vectors', () => vectorTests(V4_VECTORS));
describe('MQTT 5.0 vectors', () => vectorTests(V5_VECTORS));

describe('every packet type has a vector in every version', () => {
  it.each([
    [3, V3_VECTORS],
    [4, V4_VECTORS],
    [5, V5_VECTORS],
  ] as const)('protocol %d', (version, vectors) => {
    const types = new Set(vectors.map((v) => v.packet.type));
    const expected = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe',
      'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect'];
    if (version === 5) expected.push('auth');
    expect([...types].sort()).toEqual(expected.sort());
  });
});

describe('Remaining Length boundaries (Variable Byte Integer table)', () => {
  it.each(REMAINING_LENGTH_VECTORS)('remaining length $length', ({ length, encoded }) => {
    const packet: PublishPacket = {
      type: 'publish', topic: 'a', payload: new Uint8Array(length - 3), qos: 0, retain: false, dup: false,
    };
    const bytes = encode(packet, 4);
    expect(bytes.length).toBe(1 + encoded.length + length);
    expect(Array.from(bytes.subarray(0, 1 + encoded.length + 3))).toEqual([0x30, ...encoded, 0x00, 0x01, 0x61]);
    // compare the large payload by hand: deep equality over megabytes is needlessly slow
    const decoded = decodePacket(bytes, 4) as PublishPacket;
    expect(decoded.payload.length).toBe(length - 3);
    expect(decoded.payload.every((b) => b === 0)).toBe(true);
    expect({ ...decoded, payload: null }).toEqual({ ...packet, payload: null });
  });
});
