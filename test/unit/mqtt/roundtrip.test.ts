/**
 * Property tests: decode(encode(p)) deep-equals p for every packet type and version, and a stream
 * of packets cut at random points decodes, chunk by chunk, to the same packets.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDecoder, decode, decodePacket, encode, encodedLength } from '../../../lib/mqtt/index';
import type { Packet, ProtocolVersion } from '../../../lib/mqtt/types';
import { arbitraryPacket, packetArbitraries } from './arbitraries';

const VERSIONS: ProtocolVersion[] = [3, 4, 5];

/** Concatenates byte arrays. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

describe.each(VERSIONS)('round trip, protocol %d', (version) => {
  for (const [type, arbitrary] of Object.entries(packetArbitraries(version))) {
    it(`decode(encode(${type})) equals the packet`, () => {
      fc.assert(
        fc.property(arbitrary as fc.Arbitrary<Packet>, (packet) => {
          const bytes = encode(packet, version);
          expect(bytes.length).toBe(encodedLength(packet, version));
          expect(decodePacket(bytes, version)).toEqual(packet);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('a stream cut at random points decodes to the same packets', () => {
    const scenario = fc.record({
      packets: fc.array(arbitraryPacket(version), { minLength: 1, maxLength: 8 }),
      cuts: fc.array(fc.nat(), { maxLength: 12 }),
    });
    fc.assert(
      fc.property(scenario, ({ packets, cuts }) => {
        const stream = concat(packets.map((p) => encode(p, version)));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const state = createDecoder({ protocolVersion: version });
        const decoded: Packet[] = [];
        let prev = 0;
        for (const point of [...points, stream.length]) {
          // copy each chunk so the test also proves no packet depends on a reused input buffer
          decoded.push(...decode(state, stream.slice(prev, point)).packets);
          prev = point;
        }
        expect(decoded).toEqual(packets);
        expect(state.pending).toBeNull();
      }),
      { numRuns: 200 },
    );
  });
});
