/**
 * Lenient mode only. Stock MQTT-over-WebSocket clients (MQTT.js in Node, for one) write a packet
 * as several binary frames, a field at a time, because MQTT over WebSocket is a byte stream
 * [MQTT-6.0.0-2]. Since messages become independent, unordered handler calls, the gateway
 * gathers a binary-mode connection's bytes into whole MQTT packets and hands the handlers whole
 * packets only, as the Stratus transport does over text frames on AWS.
 *
 * Only the fixed header is read, with lib/mqtt's Remaining Length reader. A length that reader
 * refuses (over four bytes, or not minimally encoded: MQTT 5 section 1.5.5) is passed on at once,
 * with everything after it, for the codec to refuse.
 */
import { vbiLength } from '../mqtt/bytes';
import { MqttError } from '../mqtt/errors';
import { readRemainingLength } from '../mqtt/remaining-length';

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
  let remaining: number;
  try {
    remaining = readRemainingLength(buffer, offset + 1, buffer.length);
  } catch (error) {
    if (error instanceof MqttError) return 'malformed';
    throw error;
  }
  return remaining < 0 ? undefined : 1 + vbiLength(remaining) + remaining;
}
