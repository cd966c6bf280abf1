/**
 * The shape of a byte vector and the two notations used to write string fields in vectors.ts.
 */

import type { Packet, ProtocolVersion } from '../../../lib/mqtt/types';

export interface Vector {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  bytes: number[];
  /** A valid, non-canonical wire form: checked by decode only. */
  decodeOnly?: boolean;
}

const utf8 = new TextEncoder();
/** Bare UTF-8 bytes. */
export const text = (s: string): number[] => Array.from(utf8.encode(s));
/** A UTF-8 string field: two-byte length, then the bytes. */
export const str = (s: string): number[] => {
  const b = text(s);
  return [b.length >> 8, b.length & 0xff, ...b];
};
