/**
 * The wire encoding between MQTT bytes and API Gateway WebSocket messages (see docs/TRANSPORT.md).
 *
 * API Gateway refuses binary frames (close 1003), so on AWS MQTT travels as base64 in TEXT frames,
 * both ways. Client-to-server messages carry whole packets. Server-to-client messages do too, so
 * that two Lambda invocations posting to one connection at once may interleave their messages
 * without corrupting the client's stream, and a send throttled midway leaves no half packet:
 * - consecutive whole packets are packed into one untagged post of at most POST_LIMIT_CHARS
 *   (31,744) characters, that is POST_PACKED_BYTES (23,808) bytes;
 * - a packet bigger than that is posted as tagged fragments, `<id>.<index>.<count>:<base64>`
 *   (lib/client/fragment-tag.ts), one after the other, each at most POST_LIMIT_CHARS; the client
 *   reassembles them [MQTT-6.0.0-2].
 * Binary-mode connections (only in the local gateway's lenient mode; stock MQTT-over-WebSocket
 * clients cannot read tags) get whole packets packed up to BINARY_POST_BYTES, the lenient
 * gateway's post limit, so no packet is ever cut.
 *
 * Incoming: a `$default` event's `body` is the text frame, i.e. base64. In lenient local mode a
 * binary frame arrives as `isBase64Encoded: true` with the frame's bytes base64-encoded in `body`;
 * that is accepted only when the caller allows binary.
 */
import { randomBytes } from 'node:crypto';
import { isBase64 } from '../client/base64';
import { formatTag } from '../client/fragment-tag';
import { packMessages } from '../client/framing';
import { readFixedHeader } from '../client/scanner';
import { FramingError } from './errors';
import { BINARY_POST_BYTES, FRAGMENT_PAYLOAD_BYTES, POST_PACKED_BYTES } from '../api-gateway';
import type { TransportMode } from '../api-gateway';

/** One message to post: a base64 string for text mode, raw bytes for binary mode. */
export type OutgoingMessage = string | Uint8Array;

export interface DecodeOptions {
  /** Accept binary frames (`isBase64Encoded: true`); only the local lenient mode passes them. */
  readonly allowBinary?: boolean;
}

/**
 * The MQTT bytes carried by one incoming message. A text body may be numbered (`<seq>:<base64>`,
 * docs/TRANSPORT.md section 3): the prefix is checked and stripped. Throws FramingError if a text
 * body is not canonical base64 (padded, no whitespace) after an optional valid prefix, or if the
 * frame was binary and binary is not allowed.
 */
export function decodeBody(
  message: { readonly body: string; readonly isBase64Encoded: boolean },
  options: DecodeOptions = {},
): Uint8Array {
  if (message.isBase64Encoded && !options.allowBinary) {
    throw new FramingError('binary-not-allowed', 'binary frames are not accepted: send base64 text');
  }
  const text = message.isBase64Encoded ? message.body : parseNumbered(message.body).base64;
  if (!isBase64(text)) {
    throw new FramingError('invalid-base64', 'message body is not base64');
  }
  return toUint8Array(Buffer.from(text, 'base64'));
}

/** A client message's text split at its optional sequence number. */
export interface NumberedText {
  /** The message's sequence number; undefined for an unnumbered message. */
  readonly seq: number | undefined;
  /** The text after the prefix (the whole text when unnumbered). */
  readonly base64: string;
}

/** `<seq>:` with seq 1 to 15 digits, no leading zero. ':' is not in the base64 alphabet. */
const SEQ_PREFIX = /^[1-9][0-9]{0,14}$/;

/**
 * Splits a client message's text at its `<seq>:` prefix (docs/TRANSPORT.md section 3). A text
 * without ':' is unnumbered; one whose text before the first ':' is not a valid sequence number
 * (empty, a leading zero, over 15 digits, not digits) throws FramingError `malformed-seq`, which
 * callers answer as any malformed frame.
 */
export function parseNumbered(text: string): NumberedText {
  const colon = text.indexOf(':');
  if (colon < 0) return { seq: undefined, base64: text };
  const prefix = text.slice(0, colon);
  if (!SEQ_PREFIX.test(prefix)) throw new FramingError('malformed-seq', 'message sequence number is malformed');
  return { seq: Number(prefix), base64: text.slice(colon + 1) };
}

/**
 * Cuts the outgoing bytes at packet boundaries, read from each fixed header (views, not copies).
 * The runtime only ever sends whole packets; bytes that end inside a packet, or a fixed header
 * that is not MQTT [MQTT-1.5.5-1], are a bug and throw FramingError `not-whole-packets`.
 */
export function splitPackets(bytes: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const rest = bytes.subarray(offset);
    let size: number | undefined;
    try {
      size = readFixedHeader(rest.subarray(0, 5))?.packetSize;
    } catch (error) {
      throw new FramingError('not-whole-packets', `outgoing bytes hold a malformed fixed header at ${offset}`, { cause: error });
    }
    if (size === undefined || size > rest.length) {
      throw new FramingError('not-whole-packets', `outgoing bytes end inside a packet at ${offset}`);
    }
    packets.push(rest.subarray(0, size));
    offset += size;
  }
  return packets;
}

/** A fresh fragment id: 12 characters, 72 random bits, so two invocations never pick the same. */
export function randomFragmentId(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * The messages to post for whole packets, in order: untagged base64 of packed whole packets, and
 * tagged fragments for a packet over POST_PACKED_BYTES (text); or packed raw bytes (binary). No
 * text message is over POST_LIMIT_CHARS. `newId` names each fragmented packet.
 */
export function encodeOutgoing(bytes: Uint8Array, mode: TransportMode, newId: () => string = randomFragmentId): OutgoingMessage[] {
  const packets = splitPackets(bytes);
  const limit = mode === 'binary' ? BINARY_POST_BYTES : POST_PACKED_BYTES;
  const messages: OutgoingMessage[] = [];
  for (const run of runsWithin(packets, limit)) {
    if (run.length === 1 && run[0]!.length > limit) {
      // Binary: the packet goes whole; over the gateway's limit its post fails with 413.
      if (mode === 'binary') messages.push(run[0]!);
      else messages.push(...fragment(run[0]!, newId()));
    } else {
      const packed = packMessages(run, limit);
      messages.push(...(mode === 'binary' ? packed : packed.map(toBase64)));
    }
  }
  return messages;
}

/** Runs of consecutive packets each at most `limit` bytes, and each bigger packet alone, in order. */
function runsWithin(packets: readonly Uint8Array[], limit: number): Uint8Array[][] {
  const runs: Uint8Array[][] = [];
  let run: Uint8Array[] = [];
  for (const packet of packets) {
    if (packet.length <= limit) {
      run.push(packet);
      continue;
    }
    if (run.length > 0) runs.push(run);
    runs.push([packet]);
    run = [];
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The tagged fragments of one packet: `<id>.<index>.<count>:` then the base64 of its part. */
export function fragment(packet: Uint8Array, id: string): string[] {
  const count = Math.ceil(packet.length / FRAGMENT_PAYLOAD_BYTES);
  const parts: string[] = [];
  for (let index = 0; index < count; index++) {
    const part = packet.subarray(index * FRAGMENT_PAYLOAD_BYTES, (index + 1) * FRAGMENT_PAYLOAD_BYTES);
    parts.push(formatTag({ id, index, count }) + toBase64(part));
  }
  return parts;
}

/** Standard padded base64 of the bytes. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Size on the wire of a message to post (a string is sent as UTF-8). */
export function messageSize(message: OutgoingMessage): number {
  return typeof message === 'string' ? Buffer.byteLength(message, 'utf8') : message.byteLength;
}

function toUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
