/**
 * Packet decoding: `decodePacket` for exactly one whole packet, and an incremental decoder
 * (`createDecoder` + `decode`) that accepts any split of a byte stream.
 *
 * Decoder state. `decode(state, chunk)` MUTATES `state` and returns that same object, so callers
 * may use either the returned state or the one they passed in. The state never references the
 * caller's chunk: bytes of an incomplete packet are copied into a buffer the state owns, sized
 * exactly for that packet once its fixed header is known, and that buffer is handed over to the
 * packet (and dropped by the state) when it is complete. So nothing appended later can alias or
 * overwrite an earlier packet. Decoded packets may reference the chunk itself (payloads, binary
 * fields are zero-copy views), so callers must not reuse a chunk's memory after decoding it.
 * After a decode throws, the state is unusable: close the connection.
 *
 * Maximum packet size counts the whole packet (fixed header included, as MQTT 5 defines it) and is
 * checked as soon as the Remaining Length is known, before any body byte is buffered.
 *
 * The canonical form of decoded packets is documented in ./index.ts.
 */

import { Reader, vbiLength } from './bytes';
import { readRemainingLength } from './remaining-length';
import { decodeConnack, decodeConnect } from './decode-connect';
import { decodeAuth, decodeDisconnect } from './decode-control';
import { decodeAck, decodePublish } from './decode-publish';
import { decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe } from './decode-subscribe';
import { MalformedPacketError, PacketTooLargeError } from './errors';
import type { Packet, ProtocolVersion } from './types';

/** The largest packet MQTT can express: 1 type byte, 4 length bytes, 268,435,455 body bytes. */
export const MAX_PACKET_SIZE = 1 + 4 + 268_435_455;

export interface DecoderOptions {
  /** Version to decode with until a CONNECT says otherwise. @default 4 */
  protocolVersion?: ProtocolVersion;
  /** Largest whole packet accepted, in bytes. @default MAX_PACKET_SIZE */
  maxPacketSize?: number;
}

export interface DecoderState {
  /** Switched to the CONNECT's level whenever a CONNECT is decoded. */
  protocolVersion: ProtocolVersion;
  readonly maxPacketSize: number;
  /** Owned copy of the incomplete packet received so far, or null between packets. */
  pending: Uint8Array | null;
  /** Bytes of `pending` filled so far. */
  pendingLength: number;
  /** Size of the pending packet; 0 while its fixed header is still incomplete. */
  pendingTotal: number;
}

export interface DecodeResult {
  packets: Packet[];
  state: DecoderState;
}

/** Fixed-header flags each type must carry; -1 for PUBLISH, whose flags are DUP/QoS/RETAIN. */
const REQUIRED_FLAGS = [0, 0, 0, -1, 0, 0, 0b0010, 0, 0b0010, 0, 0b0010, 0, 0, 0, 0, 0];

/** Checks the first fixed-header byte: packet type and flags [MQTT-2.1.3-1]. */
function checkFirstByte(first: number, version: ProtocolVersion): void {
  const type = first >> 4;
  if (type === 0 || (type === 15 && version !== 5)) {
    throw new MalformedPacketError(`reserved packet type ${type}`, { specRef: 'MQTT 5.0 section 2.1.2' });
  }
  const required = REQUIRED_FLAGS[type];
  if (required >= 0 && (first & 0x0f) !== required) {
    throw new MalformedPacketError('invalid fixed header flags', { specRef: 'MQTT-2.1.3-1' });
  }
}

/** Decodes the body of a packet whose first byte is checked; `start..end` spans the body. */
function decodeBody(buf: Uint8Array, first: number, start: number, end: number, version: ProtocolVersion): Packet {
  const r = new Reader(buf, start, end);
  switch (first >> 4) {
    case 1: return decodeConnect(r);
    case 2: return decodeConnack(r, version);
    case 3: return decodePublish(r, first & 0x0f, version);
    case 4: return decodeAck(r, 'puback', 4, version);
    case 5: return decodeAck(r, 'pubrec', 5, version);
    case 6: return decodeAck(r, 'pubrel', 6, version);
    case 7: return decodeAck(r, 'pubcomp', 7, version);
    case 8: return decodeSubscribe(r, version);
    case 9: return decodeSuback(r, version);
    case 10: return decodeUnsubscribe(r, version);
    case 11: return decodeUnsuback(r, version);
    case 12: r.done(); return { type: 'pingreq' };
    case 13: r.done(); return { type: 'pingresp' };
    case 14: return decodeDisconnect(r, version);
    default: return decodeAuth(r);
  }
}

/** Decodes exactly one whole packet; leftover or missing bytes are a Malformed Packet. */
export function decodePacket(bytes: Uint8Array, protocolVersion: ProtocolVersion): Packet {
  const n = bytes.length;
  if (n < 2) throw new MalformedPacketError('packet shorter than a fixed header');
  const first = bytes[0];
  checkFirstByte(first, protocolVersion);
  const rl = readRemainingLength(bytes, 1, n);
  if (rl < 0) throw new MalformedPacketError('truncated Remaining Length');
  const start = 1 + vbiLength(rl);
  if (start + rl !== n) throw new MalformedPacketError('Remaining Length does not match the bytes given');
  return decodeBody(bytes, first, start, n, protocolVersion);
}

export function createDecoder(options: DecoderOptions = {}): DecoderState {
  return {
    protocolVersion: options.protocolVersion ?? 4,
    maxPacketSize: options.maxPacketSize ?? MAX_PACKET_SIZE,
    pending: null,
    pendingLength: 0,
    pendingTotal: 0,
  };
}

function checkSize(state: DecoderState, total: number): void {
  if (total > state.maxPacketSize) {
    throw new PacketTooLargeError(`packet of ${total} bytes exceeds the maximum of ${state.maxPacketSize}`);
  }
}

/** Decodes a completed pending packet (the whole of `buf`) and follows a CONNECT's level. */
function decodePending(state: DecoderState, buf: Uint8Array): Packet {
  const rl = readRemainingLength(buf, 1, buf.length);
  const start = 1 + vbiLength(rl);
  const packet = decodeBody(buf, buf[0], start, start + rl, state.protocolVersion);
  if (packet.type === 'connect') state.protocolVersion = packet.protocolVersion;
  return packet;
}

/** Feeds the start of `bytes` into the pending packet; returns how many bytes were used. */
function feedPending(state: DecoderState, bytes: Uint8Array, packets: Packet[]): number {
  let off = 0;
  let pending = state.pending as Uint8Array;
  if (state.pendingTotal === 0) {
    while (off < bytes.length && state.pendingTotal === 0) {
      pending[state.pendingLength++] = bytes[off++];
      const rl = readRemainingLength(pending, 1, state.pendingLength);
      if (rl < 0) continue;
      const total = 1 + vbiLength(rl) + rl;
      checkSize(state, total);
      const full = new Uint8Array(total);
      full.set(pending.subarray(0, state.pendingLength));
      state.pending = pending = full;
      state.pendingTotal = total;
    }
    if (state.pendingTotal === 0) return off;
  }
  const take = Math.min(state.pendingTotal - state.pendingLength, bytes.length - off);
  pending.set(bytes.subarray(off, off + take), state.pendingLength);
  state.pendingLength += take;
  off += take;
  if (state.pendingLength === state.pendingTotal) {
    state.pending = null;
    state.pendingLength = 0;
    state.pendingTotal = 0;
    packets.push(decodePending(state, pending));
  }
  return off;
}

/** Keeps an owned copy of bytes[off..) as the start of a packet of `total` bytes (0: unknown). */
function stash(state: DecoderState, bytes: Uint8Array, off: number, total: number): void {
  const pending = new Uint8Array(total === 0 ? 5 : total);
  pending.set(bytes.subarray(off));
  state.pending = pending;
  state.pendingLength = bytes.length - off;
  state.pendingTotal = total;
}

/** Decodes every complete packet in `bytes`, keeping any incomplete tail in the state. */
export function decode(state: DecoderState, bytes: Uint8Array): DecodeResult {
  const packets: Packet[] = [];
  const n = bytes.length;
  let off = state.pending === null ? 0 : feedPending(state, bytes, packets);
  if (state.pending !== null) return { packets, state };
  while (off < n) {
    const first = bytes[off];
    checkFirstByte(first, state.protocolVersion);
    const rl = readRemainingLength(bytes, off + 1, n);
    if (rl < 0) {
      stash(state, bytes, off, 0);
      break;
    }
    const start = off + 1 + vbiLength(rl);
    const total = start - off + rl;
    checkSize(state, total);
    if (start + rl > n) {
      stash(state, bytes, off, total);
      break;
    }
    const packet = decodeBody(bytes, first, start, start + rl, state.protocolVersion);
    if (packet.type === 'connect') state.protocolVersion = packet.protocolVersion;
    packets.push(packet);
    off = start + rl;
  }
  return { packets, state };
}
