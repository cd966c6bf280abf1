/**
 * Outgoing framing decisions, pure: which whole packets share a WebSocket message, and how a
 * message's base64 text is cut into frames. See docs/TRANSPORT.md.
 */

import { concatBytes } from '../mqtt/bytes';
import { MAX_MESSAGE_SEQ } from '../api-gateway';
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

/**
 * A numbered message's text (docs/TRANSPORT.md section 3): the decimal sequence number, ':', then
 * the base64. The number takes at most 15 digits (SEQ_PREFIX_RESERVE with the colon).
 */
export function numberMessage(seq: number, base64: string): string {
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_MESSAGE_SEQ) throw new RangeError(`message sequence number out of range: ${seq}`);
  return `${seq}:${base64}`;
}

/**
 * The frames of every message for `packets`, ready for the socket: one string[] per message.
 * With `firstSeq` the messages are numbered from it, one number per message however many frames
 * it takes; the caller budgets the prefix in `maxPacketBytes` (./limits.ts).
 */
export function planMessages(
  packets: readonly Uint8Array[],
  maxPacketBytes: number,
  maxFrameSize: number,
  firstSeq?: number,
): string[][] {
  return packMessages(packets, maxPacketBytes).map((message, i) => {
    const base64 = encodeBase64(message);
    return splitFrames(firstSeq === undefined ? base64 : numberMessage(firstSeq + i, base64), maxFrameSize);
  });
}
