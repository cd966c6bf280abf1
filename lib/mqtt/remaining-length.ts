/**
 * The Remaining Length of the fixed header, read in one place for every reader of MQTT bytes: the
 * decoder, the client transport's packet scanner, and whoever else must find packet boundaries.
 */

import { MalformedPacketError } from './errors';

/**
 * Remaining Length at buf[pos..end): its value, or -1 when more bytes are needed. At most four
 * bytes, minimally encoded [MQTT-1.5.5-1] (3.1.1: section 2.2.3). Its encoded size is
 * `vbiLength(value)` (./bytes.ts), since only the minimal encoding is accepted.
 */
export function readRemainingLength(buf: Uint8Array, pos: number, end: number): number {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= end) return -1;
    const b = buf[pos + i];
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new MalformedPacketError('non-minimal Remaining Length', { specRef: 'MQTT-1.5.5-1' });
      return value;
    }
    mult *= 128;
  }
  throw new MalformedPacketError('Remaining Length longer than four bytes', { specRef: 'MQTT-1.5.5-1' });
}
