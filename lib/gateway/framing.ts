/**
 * The wire encoding between MQTT bytes and API Gateway WebSocket messages (see docs/TRANSPORT.md).
 *
 * API Gateway refuses binary frames (close 1003), so on AWS MQTT travels as base64 in TEXT frames,
 * both ways: each text message is the base64 encoding of a contiguous chunk of the MQTT byte
 * stream; server-to-client chunks may split packets, client-to-server messages carry whole
 * packets. One MQTT packet may therefore span several WebSocket messages [MQTT-6.0.0-2], and the
 * receiving side reassembles the stream.
 *
 * Limits: a frame is at most 32 KB and a message at most 128 KB; a larger one, including one sent
 * through `@connections`, closes the connection with 1009. Base64 turns 3 bytes into 4 characters,
 * so a chunk of 24 KiB of raw bytes encodes to exactly 32 KiB: outgoing data is cut into chunks
 * of at most 24 KiB and each chunk is posted as its own message. Binary-mode connections (only in
 * the local gateway's lenient mode) get the same chunks as raw bytes.
 *
 * Incoming: a `$default` event's `body` is the text frame, i.e. base64. In lenient local mode a
 * binary frame arrives as `isBase64Encoded: true` with the frame's bytes base64-encoded in `body`;
 * that is accepted only when the caller allows binary.
 */
import { isBase64 } from '../client/base64';
import { FramingError } from './errors';
import { FRAME_LIMIT_BYTES, MAX_CHUNK_BYTES } from '../api-gateway';
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
 * Cuts bytes into contiguous chunks of at most `maxChunk` bytes (views, not copies). Zero bytes
 * give zero chunks: there is nothing to post.
 */
export function splitBytes(bytes: Uint8Array, maxChunk: number = MAX_CHUNK_BYTES): Uint8Array[] {
  if (!Number.isInteger(maxChunk) || maxChunk < 1) throw new RangeError('maxChunk must be >= 1');
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += maxChunk) {
    chunks.push(bytes.subarray(offset, Math.min(offset + maxChunk, bytes.length)));
  }
  return chunks;
}

/**
 * The messages to post for a piece of the outgoing MQTT stream, in order: base64 strings for text
 * connections, raw bytes for binary ones; none is over FRAME_LIMIT_BYTES.
 */
export function encodeOutgoing(bytes: Uint8Array, mode: TransportMode): OutgoingMessage[] {
  const chunks = splitBytes(bytes);
  if (mode === 'binary') return chunks;
  return chunks.map((chunk) => toBase64(chunk));
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
