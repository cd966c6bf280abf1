import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedPacketError } from '../../../lib/client/errors';
import { PacketScanner, readFixedHeader, type ScanResult } from '../../../lib/client/scanner';
import { concatBytes, cutAt, hex, rawPacket } from './helpers';

const packetsOf = (results: ScanResult[]): string[] => hex(results.flatMap((r) => (r.kind === 'packet' ? [r.bytes] : [])));

describe('readFixedHeader', () => {
  // Each vector: bytes, then the header it describes (type, header size, whole packet size).
  const vectors: Array<[string, number[], { type: number; headerSize: number; packetSize: number }]> = [
    ['PINGREQ: type 12, Remaining Length 0', [0xc0, 0x00], { type: 12, headerSize: 2, packetSize: 2 }],
    ['PUBLISH, 1-byte length 127', [0x30, 0x7f], { type: 3, headerSize: 2, packetSize: 129 }],
    ['PUBLISH, 2-byte length 128 (0x80 0x01)', [0x32, 0x80, 0x01], { type: 3, headerSize: 3, packetSize: 131 }],
    ['SUBSCRIBE, 2-byte length 16,383 (0xff 0x7f)', [0x82, 0xff, 0x7f], { type: 8, headerSize: 3, packetSize: 16_386 }],
    ['3-byte length 16,384 (0x80 0x80 0x01)', [0x30, 0x80, 0x80, 0x01], { type: 3, headerSize: 4, packetSize: 16_388 }],
    ['4-byte length 268,435,455, the maximum', [0x30, 0xff, 0xff, 0xff, 0x7f], { type: 3, headerSize: 5, packetSize: 268_435_460 }],
  ];

  it.each(vectors)('%s', (_name, bytes, header) => {
    expect(readFixedHeader(Uint8Array.from(bytes))).toEqual(header);
  });

  it.each([[[]], [[0x30]], [[0x30, 0x80]], [[0x30, 0xff, 0xff, 0xff]]])('waits for more bytes: %j', (bytes) => {
    expect(readFixedHeader(Uint8Array.from(bytes))).toBeUndefined();
  });

  it('throws MalformedPacketError when Remaining Length runs past 4 bytes', () => {
    expect(() => readFixedHeader(Uint8Array.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toThrow(MalformedPacketError);
  });

  it('throws MalformedPacketError for a Remaining Length not minimally encoded [MQTT-1.5.5-1]', () => {
    // 0x80 0x00: the value 0 in two bytes, where one suffices.
    expect(() => readFixedHeader(Uint8Array.from([0x30, 0x80, 0x00]))).toThrow(MalformedPacketError);
  });
});

describe('PacketScanner', () => {
  const stream = [rawPacket(0x10, 40), rawPacket(0x30, 200, 0x01), rawPacket(0xc0, 0), rawPacket(0x82, 17_000, 0x02)];
  const bytes = concatBytes(stream);

  it('returns several whole packets from one chunk, in order', () => {
    expect(packetsOf(new PacketScanner(1e6).push(bytes))).toEqual(hex(stream));
  });

  it('holds a partial packet until its last byte arrives', () => {
    const scanner = new PacketScanner(1e6);
    const packet = rawPacket(0x30, 300);
    expect(scanner.push(packet.subarray(0, 299))).toEqual([]);
    expect(scanner.buffered).toBe(299);
    expect(packetsOf(scanner.push(packet.subarray(299)))).toEqual(hex([packet]));
    expect(scanner.buffered).toBe(0);
  });

  it('finds the same packets whatever offset the stream is split at', () => {
    for (let offset = 0; offset <= bytes.length; offset += offset < 300 ? 1 : 97) {
      const scanner = new PacketScanner(1e6);
      const found = [...scanner.push(bytes.subarray(0, offset)), ...scanner.push(bytes.subarray(offset))];
      expect(packetsOf(found)).toEqual(hex(stream));
    }
  });

  it('returns copies, independent of the chunks written', () => {
    const chunk = rawPacket(0x30, 3);
    const [result] = new PacketScanner(100).push(chunk);
    chunk.fill(0);
    expect(result).toEqual({ kind: 'packet', bytes: rawPacket(0x30, 3) });
  });

  it('reports an oversize packet once and discards its bytes, even when they arrive in pieces', () => {
    const scanner = new PacketScanner(1000);
    const big = rawPacket(0x30, 5000);
    const after = rawPacket(0xc0, 0);
    const results = cutAt(concatBytes([big, after]), [1, 2, 700, 3000]).flatMap((c) => scanner.push(c));
    expect(results).toEqual([
      { kind: 'oversize', header: { type: 3, headerSize: 3, packetSize: 5003 } },
      { kind: 'packet', bytes: after },
    ]);
  });

  it('property: any packets, cut at any offsets, come out whole and unchanged', () => {
    const packet = fc
      .record({
        first: fc.integer({ min: 0x10, max: 0xff }),
        length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(127, 128, 16_383, 16_384), fc.integer({ min: 0, max: 40_000 })),
        fill: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ first, length, fill }) => rawPacket(first, length, fill));
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (packets, cuts) => {
        const all = concatBytes(packets);
        const scanner = new PacketScanner(1e6);
        const found = cutAt(all, cuts.map((c) => c % (all.length + 1))).flatMap((chunk) => scanner.push(chunk));
        expect(packetsOf(found)).toEqual(hex(packets));
        expect(scanner.buffered).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
