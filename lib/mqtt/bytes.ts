/**
 * Byte-level primitives: a bounds-checked Reader over one packet's bytes and an unchecked Writer
 * into a buffer whose exact size was computed beforehand. Both are plain Uint8Array code (no Node
 * Buffer) so the codec runs in browsers too.
 */

import { MalformedPacketError } from './errors';
import { decodeUtf8, writeUtf8 } from './utf8';

/** The largest value a Variable Byte Integer can hold (four bytes) [MQTT-1.5.5-1]. */
export const MAX_VBI = 268_435_455;

/** Number of bytes the Variable Byte Integer encoding of `n` takes (n must be 0..MAX_VBI). */
export function vbiLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

function truncated(): never {
  throw new MalformedPacketError('packet shorter than its fields');
}

/** Reads fields from buf[pos..end); every read past `end` is a Malformed Packet. */
export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) truncated();
    return this.buf[this.pos++];
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) truncated();
    this.pos = p + 2;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) truncated();
    this.pos = p + 4;
    const b = this.buf;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** Variable Byte Integer: at most four bytes, minimally encoded [MQTT-1.5.5-1]. */
  vbi(): number {
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) {
          throw new MalformedPacketError('non-minimal Variable Byte Integer', { specRef: 'MQTT-1.5.5-1' });
        }
        return value;
      }
      mult *= 128;
    }
    throw new MalformedPacketError('Variable Byte Integer longer than four bytes', { specRef: 'MQTT-1.5.5-1' });
  }

  /** UTF-8 Encoded String: two-byte length, then validated UTF-8 [MQTT-1.5.4-1] [MQTT-1.5.4-2] [MQTT-1.5.4-3]. */
  utf8(): string {
    const len = this.u16();
    const start = this.pos;
    if (start + len > this.end) truncated();
    this.pos = start + len;
    return decodeUtf8(this.buf, start, start + len);
  }

  /** Binary Data: two-byte length, then bytes, returned as a zero-copy view. */
  binary(): Uint8Array {
    const len = this.u16();
    const start = this.pos;
    if (start + len > this.end) truncated();
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  /** Everything left, as a zero-copy view. */
  rest(): Uint8Array {
    const view = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return view;
  }

  /** Leftover bytes after the last field are a Malformed Packet. */
  done(): void {
    if (this.pos !== this.end) throw new MalformedPacketError('unexpected bytes after the last field');
  }
}

/** Writes into a buffer sized exactly in advance, so no bounds checks are needed. */
export class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  u8(n: number): void {
    this.buf[this.pos++] = n;
  }

  u16(n: number): void {
    const p = this.pos;
    this.buf[p] = n >>> 8;
    this.buf[p + 1] = n;
    this.pos = p + 2;
  }

  u32(n: number): void {
    const p = this.pos;
    const b = this.buf;
    b[p] = n >>> 24;
    b[p + 1] = n >>> 16;
    b[p + 2] = n >>> 8;
    b[p + 3] = n;
    this.pos = p + 4;
  }

  vbi(n: number): void {
    const b = this.buf;
    let p = this.pos;
    while (n >= 0x80) {
      b[p++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    b[p++] = n;
    this.pos = p;
  }

  /** A UTF-8 string validated by utf8Length: its length prefix is filled in after writing. */
  utf8(s: string): void {
    const p = this.pos;
    const end = writeUtf8(this.buf, p + 2, s);
    const len = end - p - 2;
    this.buf[p] = len >>> 8;
    this.buf[p + 1] = len;
    this.pos = end;
  }

  binary(data: Uint8Array): void {
    this.u16(data.length);
    this.raw(data);
  }

  raw(data: Uint8Array): void {
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
}

/** The parts one after another in one array (the part itself when there is only one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const part of parts) size += part.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
