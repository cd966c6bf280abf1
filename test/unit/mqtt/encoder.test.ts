/**
 * Encoder output buffers: exactly sized, independent of each other although small packets share
 * a slab, and never rewritten by later encodes.
 */

import { describe, expect, it } from 'vitest';
import { decodePacket, encode, encodedLength } from '../../../lib/mqtt/index';
import type { PublishPacket } from '../../../lib/mqtt/types';

const publish = (size: number, fill: number): PublishPacket => ({
  type: 'publish', topic: 'a/b', payload: new Uint8Array(size).fill(fill), qos: 1, retain: false, dup: false, packetId: 1,
});

describe('encode output', () => {
  it('is exactly the packet size and stays intact while many more packets are encoded', () => {
    const sizes = [0, 10, 60, 100, 500, 3000, 5000, 9000];
    const first = sizes.map((s, i) => ({ packet: publish(s, i + 1), bytes: encode(publish(s, i + 1), 4) }));
    for (let i = 0; i < 2000; i++) encode(publish(sizes[i % sizes.length], 0xee), i % 2 === 0 ? 4 : 5);
    for (const { packet, bytes } of first) {
      expect(bytes.byteLength).toBe(encodedLength(packet, 4));
      expect(decodePacket(bytes, 4)).toEqual(packet);
    }
  });

  it('a packet encoded as a slab view copies to an ArrayBuffer of its own with slice()', () => {
    const bytes = encode(publish(100, 7), 4);
    const own = bytes.slice();
    expect(own.buffer.byteLength).toBe(bytes.byteLength);
    expect(own).toEqual(bytes);
  });
});
