/**
 * UTF-8 for MQTT strings, hand-rolled so it validates as the spec demands and stays fast for the
 * short, mostly ASCII strings MQTT carries (TextDecoder/TextEncoder cost more than they save there
 * and would silently replace ill-formed input).
 *
 * Rules enforced both ways [MQTT-1.5.4-1]: well-formed UTF-8 only (no overlongs, no code points
 * above U+10FFFF, no surrogates U+D800..U+DFFF, which arrive as ED A0..BF xx), and
 * [MQTT-1.5.4-2]: no U+0000. [MQTT-1.5.4-3]: a BOM (EF BB BF) is kept, never stripped.
 * (3.1.1: [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-1.5.3-3], the same rules.)
 */

import { MalformedPacketError } from './errors';

/** Scratch space for decoding non-ASCII strings: a string field holds at most 65535 bytes. */
const SCRATCH = new Uint16Array(65536);
const APPLY_CHUNK = 8192;

function charCodes(codes: ArrayLike<number>): string {
  const n = codes.length;
  if (n <= APPLY_CHUNK) return String.fromCharCode.apply(null, codes as unknown as number[]);
  let s = '';
  const view = codes as Uint16Array | Uint8Array;
  for (let i = 0; i < n; i += APPLY_CHUNK) {
    s += String.fromCharCode.apply(null, view.subarray(i, Math.min(n, i + APPLY_CHUNK)) as unknown as number[]);
  }
  return s;
}

/** Decodes and validates buf[start..end) as an MQTT UTF-8 string. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 24) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = buf[i];
      // b - 1 wraps below zero for 0x00, so one compare catches NUL and non-ASCII.
      if ((b - 1) >>> 0 >= 0x7f) return decodeUtf8Slow(buf, start, end);
      s += String.fromCharCode(b);
    }
    return s;
  }
  for (let i = start; i < end; i++) {
    if ((buf[i] - 1) >>> 0 >= 0x7f) return decodeUtf8Slow(buf, start, end);
  }
  return charCodes(buf.subarray(start, end));
}

function malformed(what: string, specRef: string): never {
  throw new MalformedPacketError(what, { specRef });
}

/** Full validating decoder, per the well-formed byte sequences of Unicode table 3-7. */
function decodeUtf8Slow(buf: Uint8Array, start: number, end: number): string {
  let n = 0;
  let i = start;
  while (i < end) {
    const b0 = buf[i];
    if (b0 < 0x80) {
      if (b0 === 0) malformed('U+0000 in a UTF-8 string', 'MQTT-1.5.4-2');
      SCRATCH[n++] = b0;
      i += 1;
      continue;
    }
    let cp: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      if (i + 1 >= end) malformed('truncated UTF-8 sequence', 'MQTT-1.5.4-1');
      const b1 = buf[i + 1];
      if ((b1 & 0xc0) !== 0x80) malformed('ill-formed UTF-8', 'MQTT-1.5.4-1');
      cp = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
      i += 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      if (i + 2 >= end) malformed('truncated UTF-8 sequence', 'MQTT-1.5.4-1');
      const b1 = buf[i + 1];
      const b2 = buf[i + 2];
      const lo = b0 === 0xe0 ? 0xa0 : 0x80; // E0 80..9F would be overlong
      const hi = b0 === 0xed ? 0x9f : 0xbf; // ED A0..BF would be a surrogate
      if (b1 < lo || b1 > hi || (b2 & 0xc0) !== 0x80) malformed('ill-formed UTF-8 or surrogate', 'MQTT-1.5.4-1');
      cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      i += 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      if (i + 3 >= end) malformed('truncated UTF-8 sequence', 'MQTT-1.5.4-1');
      const b1 = buf[i + 1];
      const lo = b0 === 0xf0 ? 0x90 : 0x80; // F0 80..8F would be overlong
      const hi = b0 === 0xf4 ? 0x8f : 0xbf; // F4 90.. would exceed U+10FFFF
      if (b1 < lo || b1 > hi || (buf[i + 2] & 0xc0) !== 0x80 || (buf[i + 3] & 0xc0) !== 0x80) {
        malformed('ill-formed UTF-8', 'MQTT-1.5.4-1');
      }
      cp = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((buf[i + 2] & 0x3f) << 6) | (buf[i + 3] & 0x3f);
      cp -= 0x10000;
      SCRATCH[n++] = 0xd800 | (cp >> 10);
      cp = 0xdc00 | (cp & 0x3ff);
      i += 4;
    } else {
      malformed('ill-formed UTF-8 lead byte', 'MQTT-1.5.4-1');
    }
    SCRATCH[n++] = cp;
  }
  return charCodes(SCRATCH.subarray(0, n));
}

/**
 * The UTF-8 byte length of `s`, validating it on the way: a lone surrogate cannot be encoded
 * [MQTT-1.5.4-1] and U+0000 is not allowed [MQTT-1.5.4-2].
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) malformed('U+0000 in a UTF-8 string', 'MQTT-1.5.4-2');
    } else if (c < 0x800) {
      len += 1;
    } else if ((c & 0xfc00) === 0xd800) {
      if ((s.charCodeAt(i + 1) & 0xfc00) !== 0xdc00) malformed('lone surrogate', 'MQTT-1.5.4-1');
      i++;
      len += 2; // two UTF-16 units become four bytes
    } else if ((c & 0xfc00) === 0xdc00) {
      malformed('lone surrogate', 'MQTT-1.5.4-1');
    } else {
      len += 2;
    }
  }
  return len;
}

/**
 * Writes `s` (already validated by utf8Length) at buf[pos..] and returns the position after it.
 */
export function writeUtf8(buf: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if ((c & 0xfc00) === 0xd800) {
      const cp = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff);
      buf[pos++] = 0xf0 | (cp >> 18);
      buf[pos++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[pos++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[pos++] = 0x80 | (cp & 0x3f);
    } else {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}

/** Bytes a UTF-8 string field takes on the wire: two-byte length plus at most 65535 bytes. */
export function stringFieldLength(s: string): number {
  const len = utf8Length(s);
  if (len > 0xffff) throw new MalformedPacketError('UTF-8 string longer than 65535 bytes', { specRef: 'MQTT 5.0 section 1.5.4' });
  return 2 + len;
}
