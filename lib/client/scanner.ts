/**
 * Finds MQTT packet boundaries in the byte stream MQTT.js writes. MQTT.js may write one packet in
 * several writes, and a WebSocket message sent to API Gateway must hold whole packets only, so the
 * transport buffers bytes until the fixed header says a packet is complete.
 */

import { vbiLength } from '../mqtt/bytes';
import { MqttError } from '../mqtt/errors';
import { readRemainingLength } from '../mqtt/remaining-length';
import { MalformedPacketError } from './errors';

/** Fixed header: type byte plus a Remaining Length of at most 4 bytes. */
const MAX_HEADER_SIZE = 5;

export interface FixedHeader {
  /** MQTT control packet type, the high nibble of the first byte */
  readonly type: number;
  /** Bytes of the fixed header: 2 to 5 */
  readonly headerSize: number;
  /** headerSize plus Remaining Length */
  readonly packetSize: number;
}

/**
 * Reads the fixed header at the start of `prefix`, with lib/mqtt's Remaining Length reader.
 * Returns undefined while too few bytes are available. Throws MalformedPacketError when the
 * Remaining Length runs past 4 bytes or is not minimally encoded [MQTT-1.5.5-1] (MQTT 3.1.1
 * section 2.2.3).
 */
export function readFixedHeader(prefix: Uint8Array): FixedHeader | undefined {
  let remaining: number;
  try {
    remaining = readRemainingLength(prefix, 1, prefix.length);
  } catch (error) {
    if (error instanceof MqttError) throw new MalformedPacketError(error.message, { cause: error });
    throw error;
  }
  if (remaining < 0) return undefined;
  const headerSize = 1 + vbiLength(remaining);
  return { type: prefix[0] >> 4, headerSize, packetSize: headerSize + remaining };
}

/** What the scanner found: a whole packet, or one too large to send (its bytes are discarded). */
export type ScanResult =
  | { readonly kind: 'packet'; readonly bytes: Uint8Array }
  | { readonly kind: 'oversize'; readonly header: FixedHeader };

/** Incremental boundary finder. Packets it returns are copies, independent of the input chunks. */
export class PacketScanner {
  private chunks: Uint8Array[] = [];
  /** Bytes held in `chunks` */
  private held = 0;
  /** Bytes of an oversize packet still to discard */
  private skipping = 0;

  constructor(private readonly maxPacketSize: number) {}

  /** Bytes held back because they do not yet form a whole packet. */
  get buffered(): number {
    return this.held;
  }

  /** Adds `chunk` and returns every packet it completes, in order. */
  push(chunk: Uint8Array): ScanResult[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.held += chunk.length;
    }
    const results: ScanResult[] = [];
    for (;;) {
      this.discardSkipped();
      if (this.held === 0) return results;
      const header = readFixedHeader(this.peek(MAX_HEADER_SIZE));
      if (!header) return results;
      if (header.packetSize > this.maxPacketSize) {
        results.push({ kind: 'oversize', header });
        this.skipping = header.packetSize;
      } else if (header.packetSize <= this.held) {
        results.push({ kind: 'packet', bytes: this.take(header.packetSize) });
      } else {
        return results;
      }
    }
  }

  private discardSkipped(): void {
    while (this.skipping > 0 && this.chunks.length > 0) {
      const first = this.chunks[0];
      const n = Math.min(this.skipping, first.length);
      this.drop(n);
      this.skipping -= n;
    }
  }

  /** Copies up to `n` leading bytes without consuming them. */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first.length >= n || this.chunks.length === 1) return first.subarray(0, n);
    return this.copy(Math.min(n, this.held));
  }

  /** Removes and returns the first `n` bytes (n <= held) as a new array. */
  private take(n: number): Uint8Array {
    const out = this.copy(n);
    let left = n;
    while (left > 0) {
      const step = Math.min(left, this.chunks[0].length);
      this.drop(step);
      left -= step;
    }
    return out;
  }

  private copy(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let offset = 0;
    for (const chunk of this.chunks) {
      if (offset === n) break;
      const part = chunk.subarray(0, n - offset);
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** Drops `n` bytes from the first chunk (n <= its length). */
  private drop(n: number): void {
    const first = this.chunks[0];
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.held -= n;
  }
}
