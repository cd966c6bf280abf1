/**
 * Outgoing framing decisions, pure: which whole packets share a WebSocket message, and how a
 * message's base64 text is cut into frames. See docs/TRANSPORT.md.
 */

import { concatBytes } from '../mqtt/bytes';
import { encodeBase64 } from './base64';

/**
 * Groups whole packets, in order, into messages of at most `maxBytes` MQTT bytes each. A packet is
 * never split. Every packet must already be at most `maxBytes` (the scanner drops bigger ones).
 */
export function packMessages(packets: readonly Uint8Array[], maxBytes: number): Uint8Array[] {
  const messages: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let size = 0;
  for (const packet of packets) {
    if (packet.length > maxBytes) throw new RangeError(`packet of ${packet.length} bytes exceeds ${maxBytes}`);
    if (size + packet.length > maxBytes && group.length > 0) {
      messages.push(concatBytes(group));
      group = [];
      size = 0;
    }
    group.push(packet);
    size += packet.length;
  }
  if (group.length > 0) messages.push(concatBytes(group));
  return messages;
}

/** Cuts one message's text into frames of at most `maxFrameSize` characters; one frame if it fits. */
export function splitFrames(text: string, maxFrameSize: number): string[] {
  if (text.length <= maxFrameSize) return [text];
  const frames: string[] = [];
  for (let i = 0; i < text.length; i += maxFrameSize) frames.push(text.slice(i, i + maxFrameSize));
  return frames;
}

/** The frames of every message for `packets`, ready for the socket: one string[] per message. */
export function planMessages(
  packets: readonly Uint8Array[],
  maxPacketBytes: number,
  maxFrameSize: number,
): string[][] {
  return packMessages(packets, maxPacketBytes).map((message) => splitFrames(encodeBase64(message), maxFrameSize));
}
