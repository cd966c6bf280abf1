/**
 * Lenient mode only. Stock MQTT-over-WebSocket clients (MQTT.js in Node, for one) write a packet
 * as several binary frames, a field at a time, because MQTT over WebSocket is a byte stream
 * [MQTT-6.0.0-2]. Since messages become independent, unordered handler calls, the gateway
 * gathers a binary-mode connection's bytes into whole MQTT packets and hands the handlers whole
 * packets only, as the Stratus transport does over text frames on AWS.
 *
 * Only the fixed header is read: the packet type byte and the Remaining Length (a variable byte
 * integer of at most 4 bytes). A malformed length is passed on as is, for the codec to refuse.
 */
export class PacketAssembler {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds received bytes; answers the whole packets now complete (concatenated), if any. */
  push(bytes: Buffer): Buffer | undefined {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    let offset = 0;
    for (;;) {
      const size = packetSize(this.pending, offset);
      if (size === 'malformed') {
        offset = this.pending.length;
        break;
      }
      if (size === undefined || offset + size > this.pending.length) break;
      offset += size;
    }
    if (offset === 0) return undefined;
    const complete = this.pending.subarray(0, offset);
    this.pending = Buffer.from(this.pending.subarray(offset));
    return complete;
  }

  /** Bytes held back, waiting for the rest of their packet. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}

/** Total size of the packet starting at `offset`; undefined if its fixed header is incomplete. */
function packetSize(buffer: Buffer, offset: number): number | undefined | 'malformed' {
  let value = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i += 1) {
    const byte = buffer[offset + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return 1 + i + value;
    multiplier *= 128;
  }
  return 'malformed';
}
