/**
 * Turns the server's messages back into one MQTT byte stream (docs/TRANSPORT.md section 4). The
 * one decoder of server posts in the code base: the MQTT.js transport (stream.ts), the edge
 * bridge, the in-memory delivery adapter and the test clients all use it.
 *
 * - An untagged text message is base64 of whole packets: its bytes are appended at once.
 * - A tagged message is one part of a packet too big for one post. Parts are kept per id, in any
 *   order, and the packet is appended once all `count` parts are in. Parts of other packets and
 *   untagged messages may arrive between them: two Lambda invocations posting to one connection
 *   interleave, and each message holds whole packets, so the stream stays valid [MQTT-6.0.0-2].
 * - A binary message holding such text (base64, a tagged fragment, API Gateway's JSON error frame)
 *   is read as that text: AWS does not document whether `@connections` posts reach the client in
 *   text or binary frames. Any other binary message is raw MQTT (the lenient local gateway's, to
 *   clients that send binary), appended at once. Raw MQTT is never printable text (base64.ts
 *   `printableText`), so the two cannot be confused.
 * - API Gateway's JSON error frame is not MQTT: `text` and `binary` throw GatewayErrorFrameError
 *   for it, having changed nothing, and the caller decides (the stream counts and reports it).
 *
 * Bounds: at most `maxPending` incomplete packets and at most `maxPacketBytes` buffered per
 * packet. Past either, the oldest incomplete packet (or the oversized one) is dropped: a lost QoS 1
 * or 2 copy is resent by the server on reconnection [MQTT-4.4.0-1]. Nothing is logged.
 */
import { MESSAGE_LIMIT_BYTES } from '../api-gateway';
import { decodeBase64, isBase64, printableText } from './base64';
import { GatewayErrorFrameError, MalformedFrameError } from './errors';
import { splitTag, type FragmentTag, type SplitMessage } from './fragment-tag';

export interface ReassemblyOptions {
  /** Incomplete packets kept at once. @default 8 */
  readonly maxPending?: number;
  /**
   * Bytes buffered for one packet. @default MESSAGE_LIMIT_BYTES (131,072): the server never sends
   * a packet over MAX_PACKET_BYTES (98,304) plus a few bytes of properties.
   */
  readonly maxPacketBytes?: number;
}

interface Pending {
  readonly count: number;
  readonly parts: Map<number, Uint8Array>;
  bytes: number;
}

const EMPTY = new Uint8Array(0);

export class Reassembler {
  /** Incomplete packets dropped so far, to stay within the bounds. */
  dropped = 0;
  private readonly maxPending: number;
  private readonly maxPacketBytes: number;
  /** Incomplete packets by id, oldest first (Map keeps insertion order). */
  private readonly pending = new Map<string, Pending>();

  constructor(options: ReassemblyOptions = {}) {
    this.maxPending = options.maxPending ?? 8;
    this.maxPacketBytes = options.maxPacketBytes ?? MESSAGE_LIMIT_BYTES;
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) throw new RangeError('maxPending must be >= 1');
    if (!Number.isInteger(this.maxPacketBytes) || this.maxPacketBytes < 1) throw new RangeError('maxPacketBytes must be >= 1');
  }

  /** Incomplete packets held now. */
  get pendingPackets(): number {
    return this.pending.size;
  }

  /**
   * The bytes one text message adds to the stream: all of an untagged message, a whole packet when
   * this part completes one, else none. Throws GatewayErrorFrameError on API Gateway's JSON error
   * frame, MalformedFrameError on a bad tag or bad base64.
   */
  text(text: string): Uint8Array {
    const split = splitTag(text);
    if (split === undefined || !isBase64(split.payload)) {
      const failed = GatewayErrorFrameError.fromText(text);
      if (failed !== undefined) throw failed;
      throw new MalformedFrameError(`text message of ${text.length} characters is neither padded base64 nor a tagged fragment`);
    }
    return this.decoded(split);
  }

  /**
   * The bytes one binary message adds to the stream. A binary message holding what a text message
   * would (base64, a tagged fragment) is read as that text; API Gateway's JSON error frame throws
   * GatewayErrorFrameError; anything else is raw MQTT, returned as is.
   */
  binary(bytes: Uint8Array): Uint8Array {
    const text = printableText(bytes);
    if (text === undefined || text.length === 0) return bytes;
    const split = splitTag(text);
    if (split !== undefined && isBase64(split.payload)) return this.decoded(split);
    const failed = GatewayErrorFrameError.fromText(text);
    if (failed !== undefined) throw failed;
    return bytes;
  }

  /** A message already checked to be (tagged) padded base64. */
  private decoded(split: SplitMessage): Uint8Array {
    const bytes = decodeBase64(split.payload) as Uint8Array;
    if (split.tag === undefined) return bytes;
    if (bytes.length === 0) throw new MalformedFrameError(`fragment ${split.tag.index} of ${split.tag.count} is empty`);
    return this.part(split.tag, bytes);
  }

  private part(tag: FragmentTag, bytes: Uint8Array): Uint8Array {
    let entry = this.pending.get(tag.id);
    if (entry === undefined) {
      entry = { count: tag.count, parts: new Map(), bytes: 0 };
      this.pending.set(tag.id, entry);
    } else if (entry.count !== tag.count) {
      throw new MalformedFrameError(`fragments of one packet disagree on their count (${entry.count}, ${tag.count})`);
    }
    if (entry.parts.has(tag.index)) return EMPTY; // a post delivered twice: keep the first
    entry.parts.set(tag.index, bytes);
    entry.bytes += bytes.length;
    if (entry.bytes > this.maxPacketBytes) {
      this.drop(tag.id);
      return EMPTY;
    }
    if (entry.parts.size === entry.count) {
      this.pending.delete(tag.id);
      return join(entry);
    }
    while (this.pending.size > this.maxPending) this.drop(this.pending.keys().next().value as string);
    return EMPTY;
  }

  private drop(id: string): void {
    this.pending.delete(id);
    this.dropped += 1;
  }
}

function join(entry: Pending): Uint8Array {
  const out = new Uint8Array(entry.bytes);
  let offset = 0;
  for (let index = 0; index < entry.count; index++) {
    const part = entry.parts.get(index) as Uint8Array;
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The MQTT byte stream a connection received, from its messages in arrival order: text messages
 * (untagged or tagged) and binary ones. For tools and tests; a live reader keeps a Reassembler.
 * Throws GatewayErrorFrameError on an error frame among them.
 */
export function decodeServerMessages(messages: Iterable<string | Uint8Array>, options?: ReassemblyOptions): Uint8Array {
  const reassembler = new Reassembler(options);
  const chunks: Uint8Array[] = [];
  for (const message of messages) chunks.push(typeof message === 'string' ? reassembler.text(message) : reassembler.binary(message));
  // A fresh plain Uint8Array (never one of Node's Buffers), whatever the number of messages.
  const out = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
