/**
 * Watches the raw bytes a client sends after the upgrade and reads each RFC 6455 frame header
 * (section 5.2), skipping payloads, so strict mode can enforce API Gateway's per-frame limits.
 * `ws` reports whole messages only; a fragmented message hides its frame sizes, so the limits are
 * checked here, on the wire, before `ws` parses the same bytes.
 *
 * Violations, reported once, as soon as the offending frame's header is seen:
 * - a binary data frame                   -> 1003 (API Gateway refuses binary frames)
 * - a data frame over the frame limit     -> 1009
 * - a message over the message limit      -> 1009 (sum of its fragments)
 */

export interface FrameLimits {
  readonly frameBytes: number;
  readonly messageBytes: number;
  readonly allowBinary: boolean;
}

export interface FrameViolation {
  readonly code: 1003 | 1009;
  readonly reason: string;
}

const OPCODE_CONTINUATION = 0x0;
const OPCODE_BINARY = 0x2;

export class FrameMonitor {
  private header: Buffer = Buffer.alloc(0);
  private payloadLeft = 0;
  private messageBytes = 0;
  private done = false;

  constructor(
    private readonly limits: FrameLimits,
    private readonly onViolation: (violation: FrameViolation) => void,
  ) {}

  /** Feeds the next bytes read from the socket. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (!this.done && offset < chunk.length) {
      if (this.payloadLeft > 0) {
        const skip = Math.min(this.payloadLeft, chunk.length - offset);
        this.payloadLeft -= skip;
        offset += skip;
        continue;
      }
      const take = Math.min(14 - this.header.length, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
      offset += take;
      const consumed = this.readHeader();
      if (consumed === 0) continue; // need more bytes
      // Bytes taken beyond this header belong to the payload or the next frame: give them back.
      offset -= this.header.length - consumed;
      this.header = Buffer.alloc(0);
    }
  }

  /** Parses a complete header from `this.header`; answers its length, or 0 if incomplete. */
  private readHeader(): number {
    const h = this.header;
    if (h.length < 2) return 0;
    const fin = (h[0]! & 0x80) !== 0;
    const opcode = h[0]! & 0x0f;
    const masked = (h[1]! & 0x80) !== 0;
    const len7 = h[1]! & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const size = 2 + extended + (masked ? 4 : 0);
    if (h.length < size) return 0;
    const length = len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? Number(h.readBigUInt64BE(2)) : len7;
    this.payloadLeft = length;
    if (opcode < 0x8) this.checkDataFrame(opcode, length, fin);
    return size;
  }

  private checkDataFrame(opcode: number, length: number, fin: boolean): void {
    if (opcode !== OPCODE_CONTINUATION) this.messageBytes = 0;
    this.messageBytes += length;
    if (opcode === OPCODE_BINARY && !this.limits.allowBinary) {
      this.report({ code: 1003, reason: 'Binary frames are not supported' });
    } else if (length > this.limits.frameBytes) {
      this.report({ code: 1009, reason: 'Frame size limit exceeded' });
    } else if (this.messageBytes > this.limits.messageBytes) {
      this.report({ code: 1009, reason: 'Message size limit exceeded' });
    }
    if (fin) this.messageBytes = 0;
  }

  private report(violation: FrameViolation): void {
    this.done = true;
    this.onViolation(violation);
  }
}
