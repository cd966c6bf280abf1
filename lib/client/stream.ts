/**
 * The Duplex stream MQTT.js reads and writes. It speaks the Stratus framing (docs/TRANSPORT.md):
 * outgoing bytes are cut at packet boundaries, whole packets are packed into base64 text messages
 * (fragmented above 32,000 characters), and incoming messages are decoded back into the byte
 * stream: untagged text and binary at once, tagged fragments once their packet is complete
 * (reassembly.ts). API Gateway's JSON error frames are counted and reported, not read as MQTT.
 * `readable-stream` is the Duplex MQTT.js itself uses, in Node and in browsers.
 */

import { Duplex } from 'readable-stream';
import { FramingRefusedError, GatewayErrorFrameError, type MalformedFrameError, PacketTooLargeError, WebSocketError } from './errors';
import { planMessages } from './framing';
import { maxPacketSize, type TransportLimits } from './limits';
import { Reassembler, type ReassemblyOptions } from './reassembly';
import { PacketScanner, type FixedHeader } from './scanner';
import type { SocketEvents, SocketFactory, TextSocket } from './socket-types';

/** Close codes that mean the server refused our framing: unsupported data, message too big. */
const FRAMING_CLOSE_CODES = new Set([1003, 1009]);

type WriteCallback = (error?: Error | null) => void;

/** Counters of a client's streams, kept across its reconnections (index.ts `transportCounters`). */
export interface TransportCounters {
  /** API Gateway error frames received (GatewayErrorFrameError): each means a lost client frame. */
  gatewayErrorFrames: number;
}

export class StratusStream extends Duplex {
  /** Largest packet this stream can send, in bytes. */
  readonly maxPacketSize: number;
  /** API Gateway error frames this stream received. */
  gatewayErrorFrames = 0;
  private readonly scanner: PacketScanner;
  /** Incoming fragments of big packets, until each packet is complete */
  private readonly reassembler: Reassembler;
  private textSocket?: TextSocket;
  private isOpen = false;
  /** We closed (or are closing) the socket: its errors and close are expected. */
  private closing = false;
  /** Whole packets waiting for the next flush */
  private outbox: Uint8Array[] = [];
  private outboxBytes = 0;
  /** Base64 characters handed to the socket and not yet written */
  private inFlight = 0;
  /** A write callback held back while too much is pending (backpressure) */
  private held?: WriteCallback;
  private flushQueued = false;
  private flushTimer?: ReturnType<typeof setTimeout>;
  /** The next message's sequence number: each stream is one WebSocket, numbered from 1. */
  private nextSeq = 1;

  constructor(
    factory: SocketFactory,
    private readonly limits: TransportLimits,
    receive: ReassemblyOptions = {},
    /** Shared with the client's other streams; this stream adds to it. */
    private readonly counters?: TransportCounters,
  ) {
    super();
    this.reassembler = new Reassembler(receive);
    this.maxPacketSize = maxPacketSize(limits, factory.canFragment);
    this.scanner = new PacketScanner(this.maxPacketSize);
    this.openSocket(factory);
  }

  override _write(chunk: Uint8Array, _encoding: string, callback: WriteCallback): void {
    this.accept([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Uint8Array; encoding: string }>, callback: WriteCallback): void {
    this.accept(
      chunks.map((entry) => entry.chunk),
      callback,
    );
  }

  override _read(): void {
    this.textSocket?.resume?.();
  }

  /** MQTT.js ended the stream: send what is queued, then close the socket (code 1000). */
  override _final(callback: WriteCallback): void {
    this.flush();
    this.closeSocket();
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    clearTimeout(this.flushTimer);
    this.outbox = [];
    this.held = undefined;
    this.closeSocket();
    callback(error);
  }

  private openSocket(factory: SocketFactory): void {
    const events: SocketEvents = {
      open: () => this.onOpen(),
      text: (text) => this.onMessage(text),
      binary: (bytes) => this.onMessage(bytes),
      close: (code, reason) => this.onClose(code, reason),
      error: (error) => this.fail(error),
    };
    Promise.resolve()
      .then(() => factory.open(events))
      .then(
        (socket) => {
          this.textSocket = socket;
          if (this.closing || this.destroyed) socket.close();
        },
        (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))),
      );
  }

  // Outgoing

  private accept(chunks: Uint8Array[], callback: WriteCallback): void {
    try {
      for (const chunk of chunks) {
        for (const result of this.scanner.push(chunk)) {
          if (result.kind === 'packet') this.enqueue(result.bytes);
          else this.reportOversize(result.header);
        }
      }
    } catch (error) {
      callback(error as Error); // MalformedPacketError: fatal, the stream is destroyed
      return;
    }
    this.scheduleFlush();
    if (this.pendingBytes() > this.limits.highWaterMark) this.held = callback;
    else callback();
  }

  private enqueue(packet: Uint8Array): void {
    this.outbox.push(packet);
    this.outboxBytes += packet.length;
  }

  /** The packet is dropped, never sent; MQTT.js emits the error and the connection stays up. */
  private reportOversize(header: FixedHeader): void {
    const error = new PacketTooLargeError(header.type, header.packetSize, this.maxPacketSize);
    queueMicrotask(() => {
      if (!this.destroyed) this.emit('error', error);
    });
  }

  private scheduleFlush(): void {
    if (this.outbox.length === 0) return;
    if (this.limits.batchMs > 0) {
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        this.flush();
      }, this.limits.batchMs);
    } else if (!this.flushQueued) {
      // Microtasks run after Node's nextTick queue, so MQTT.js's cork/uncork writes are all in.
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
  }

  /** Sends every queued packet, packed into as few messages as the limits allow. */
  private flush(): void {
    const socket = this.textSocket;
    if (!this.isOpen || !socket || this.destroyed || this.outbox.length === 0) return;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const packets = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    const messages = planMessages(packets, this.maxPacketSize, this.limits.maxFrameSize, this.limits.numbered ? this.nextSeq : undefined);
    this.nextSeq += messages.length;
    for (const frames of messages) {
      const size = frames.reduce((sum, frame) => sum + frame.length, 0);
      this.inFlight += size;
      socket.send(frames, (error) => this.onSent(size, error));
    }
  }

  private onSent(size: number, error?: Error): void {
    this.inFlight -= size;
    if (error) {
      this.fail(error);
      return;
    }
    const held = this.held;
    if (held && this.pendingBytes() <= this.limits.highWaterMark) {
      this.held = undefined;
      held();
    }
  }

  private pendingBytes(): number {
    return this.scanner.buffered + this.outboxBytes + this.inFlight;
  }

  // Incoming and socket events

  private onOpen(): void {
    if (this.destroyed || this.closing) return;
    this.isOpen = true;
    this.flush();
  }

  /**
   * Untagged text is whole packets; a tagged fragment adds its packet once all parts are in. A
   * binary message is read as text when it holds base64, else as raw MQTT (reassembly.ts).
   */
  private onMessage(message: string | Uint8Array): void {
    if (this.destroyed) return;
    let bytes: Uint8Array;
    try {
      bytes = typeof message === 'string' ? this.reassembler.text(message) : this.reassembler.binary(message);
    } catch (error) {
      if (error instanceof GatewayErrorFrameError) this.reportGatewayError(error);
      else this.fail(error as MalformedFrameError);
      return;
    }
    this.onBytes(bytes);
  }

  /**
   * API Gateway failed one of our frames and said so: counted and reported to MQTT.js's 'error'
   * (it has a `code`). The stream is untouched by it; it goes on ('report'), or fails so that
   * MQTT.js reconnects and resends its unacknowledged packets ('reconnect'; docs/TRANSPORT.md
   * section 4).
   */
  private reportGatewayError(error: GatewayErrorFrameError): void {
    this.gatewayErrorFrames += 1;
    if (this.counters) this.counters.gatewayErrorFrames += 1;
    if (this.limits.onGatewayError === 'reconnect') this.destroy(error);
    else this.emit('error', error);
  }

  /** Bytes in arrival order; MQTT.js's parser still copes with a packet spanning messages [MQTT-6.0.0-2]. */
  private onBytes(bytes: Uint8Array): void {
    if (this.destroyed || bytes.length === 0) return;
    if (!this.push(bytes)) this.textSocket?.pause?.();
  }

  /** Socket closed: end the readable side, then destroy, so MQTT.js sees 'close' and reconnects. */
  private onClose(code: number, reason: string): void {
    this.isOpen = false;
    if (this.destroyed) return;
    if (FRAMING_CLOSE_CODES.has(code)) {
      this.destroy(new FramingRefusedError(code, reason));
      return;
    }
    this.push(null);
    // Let MQTT.js read what is buffered (a DISCONNECT, say) before the stream closes.
    if (this.readableFlowing) this.once('end', () => this.destroy());
    else this.destroy();
  }

  private fail(error: Error): void {
    if (this.destroyed) return;
    if (this.closing) {
      this.destroy();
      return;
    }
    const { code } = error as Error & { code?: unknown };
    this.destroy(typeof code === 'string' && code ? error : new WebSocketError(error.message, { cause: error }));
  }

  private closeSocket(): void {
    this.closing = true;
    this.isOpen = false;
    this.textSocket?.close();
  }
}
