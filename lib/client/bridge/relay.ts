/**
 * One downstream MQTT connection relayed to one upstream Stratus connection. Packets are
 * forwarded byte for byte, never decoded and re-encoded, so every MQTT feature works end to end.
 *
 * Phases:
 * - `connect`: bytes are gathered until the first whole packet. It must be a CONNECT
 *   [MQTT-3.1.0-1]; its protocol version picks the upstream subprotocol. Only then is the upstream
 *   opened, so port scanners and health checks cost no API Gateway connection.
 * - `opening`: the upstream handshake is under way; packets are held.
 * - `handshake`: the message with the CONNECT is sent. Later packets are held until the server's
 *   first bytes (its CONNACK, or AUTH) arrive, because API Gateway does not order a connection's
 *   messages and nothing may overtake the CONNECT.
 * - `open`: client packets go through the outbox (batching); server bytes go to the client as is,
 *   a packet posted in tagged fragments once all its parts are in (../reassembly.ts).
 * - `closed`: either side ended, and the other was closed.
 */
import type WebSocket from 'ws';
import type { RawData } from 'ws';
import { GatewayErrorFrameError } from '../errors';
import { Reassembler } from '../reassembly';
import { PacketScanner, type FixedHeader } from '../scanner';
import type { Logger } from '../../log';
import { PACKET_TOO_LARGE_DISCONNECT, notAuthorizedConnack, peekConnect, serverUnavailableConnack, subprotocolFor, type ConnectSummary } from './connect-peek';
import type { Downstream } from './downstream';
import { MAX_MESSAGE_BYTES } from './options';
import { Outbox, groupPackets, type OutboxOptions, type Timers } from './outbox';
import type { BridgeStats } from './stats';
import { describeFailure, openUpstream, sendMessage, type UpstreamTarget } from './upstream';

/** Upstream bytes not yet written to the network above which the client is paused. */
const HIGH_WATER_MARK = 1024 * 1024;
/** A client that sends no CONNECT within this time is closed (it holds a socket and a buffer). */
const CONNECT_TIMEOUT_MS = 30_000;
/**
 * A client that closes before its CONNACK: how long the relay waits for the CONNACK, so that
 * what the client sent after its CONNECT (a DISCONNECT, say) follows it instead of overtaking
 * it or being lost.
 */
const HANDSHAKE_GRACE_MS = 10_000;

export interface RelayContext {
  readonly id: string;
  readonly upstream: UpstreamTarget;
  readonly batching: OutboxOptions;
  readonly log: Logger;
  readonly stats: BridgeStats;
  readonly timers?: Timers;
  /** Called once, when both sides are closed or closing. */
  readonly onClosed: (relay: Relay) => void;
}

type Phase = 'connect' | 'opening' | 'handshake' | 'open' | 'closed';

export class Relay {
  private phase: Phase = 'connect';
  private readonly scanner = new PacketScanner(MAX_MESSAGE_BYTES);
  /** Parts of big server packets, until each is complete */
  private readonly reassembler = new Reassembler();
  private readonly outbox: Outbox;
  private readonly log: Logger;
  /** Packets waiting for the upstream to open or to answer the CONNECT */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private ws?: WebSocket;
  private connect?: ConnectSummary;
  private clientPaused = false;
  /** The client closed while the upstream handshake was still running. */
  private clientGone = false;
  private timer?: ReturnType<typeof setTimeout>;
  /** The next upstream message's sequence number (docs/TRANSPORT.md section 3); one upstream per relay. */
  private nextSeq = 1;

  constructor(
    private readonly client: Downstream,
    private readonly context: RelayContext,
  ) {
    this.log = context.log.child({ connection: context.id, transport: client.transport, remote: client.remote });
    this.outbox = new Outbox(context.batching, (message, packets) => this.sendUpstream(message, packets), context.timers);
    context.stats.connections++;
    context.stats.open++;
    client.start({
      data: (bytes) => this.onClientData(bytes),
      closed: (error) => this.onClientClosed(error),
      drain: () => this.ws?.resume(),
    });
    this.startTimer(CONNECT_TIMEOUT_MS, 'no CONNECT from the client in time; closing');
  }

  /** Ends both sides (the bridge is shutting down). */
  close(): void {
    if (this.phase === 'closed') return;
    this.log.info('connection closed by the bridge');
    this.outbox.flush();
    this.finish();
  }

  // Client to upstream

  private onClientData(bytes: Uint8Array): void {
    if (this.phase === 'closed') return;
    const packets = this.scan(bytes);
    if (packets === undefined || packets.length === 0) return;
    if (this.phase === 'connect' && !this.begin(packets[0])) return;
    if (this.phase === 'open') this.outbox.add(packets);
    else this.hold(packets);
  }

  /** Whole packets completed by `bytes`; undefined when the connection had to be closed. */
  private scan(bytes: Uint8Array): Uint8Array[] | undefined {
    const packets: Uint8Array[] = [];
    try {
      for (const result of this.scanner.push(bytes)) {
        if (result.kind === 'oversize') {
          this.refuseOversize(result.header);
          return undefined;
        }
        packets.push(result.bytes);
      }
    } catch (error) {
      this.log.warn('malformed packet from the client; closing', { error });
      this.finish();
      return undefined;
    }
    return packets;
  }

  /** The first packet: a CONNECT [MQTT-3.1.0-1], else the connection is closed. */
  private begin(first: Uint8Array): boolean {
    const connect = peekConnect(first);
    if (connect === undefined) {
      this.log.warn('first packet is not a CONNECT; closing', { packetType: first[0] >> 4 });
      this.finish();
      return false;
    }
    this.connect = connect;
    this.stopTimer();
    this.log.info('client connected', { clientId: connect.clientId, protocolLevel: connect.level });
    this.phase = 'opening';
    this.openUpstream(connect);
    return true;
  }

  private hold(packets: Uint8Array[]): void {
    for (const packet of packets) {
      this.held.push(packet);
      this.heldBytes += packet.length;
    }
    if (this.heldBytes > HIGH_WATER_MARK) this.pauseClient();
  }

  private sendUpstream(message: Uint8Array, packets: number): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== ws.OPEN) return;
    const chars = sendMessage(ws, this.nextSeq++, message, (error) => this.onSent(error));
    this.context.stats.recordUpstream(chars, packets);
    if (ws.bufferedAmount > HIGH_WATER_MARK) this.pauseClient();
  }

  private onSent(error?: Error): void {
    if (error) {
      if (this.phase !== 'closed') this.log.warn('upstream send failed', { error });
      return;
    }
    if (this.clientPaused && this.heldBytes <= HIGH_WATER_MARK && (this.ws?.bufferedAmount ?? 0) <= HIGH_WATER_MARK / 2) {
      this.clientPaused = false;
      this.client.resume();
    }
  }

  private pauseClient(): void {
    if (this.clientPaused) return;
    this.clientPaused = true;
    this.client.pause();
  }

  /** A packet bigger than one upstream message: v5 gets DISCONNECT 0x95, then both sides close. */
  private refuseOversize(header: FixedHeader): void {
    this.log.warn('packet too large for API Gateway; closing', {
      packetType: header.type,
      packetSize: header.packetSize,
      limit: MAX_MESSAGE_BYTES,
    });
    if (this.connect?.level === 5) this.client.write(PACKET_TOO_LARGE_DISCONNECT);
    this.finish();
  }

  private onClientClosed(error?: Error): void {
    if (this.phase === 'closed') return;
    if (error) this.log.info('client connection failed', { error });
    else this.log.info('client disconnected');
    // What the client sent last (its DISCONNECT, say) still goes upstream before the close.
    if (this.phase === 'open') this.outbox.flush();
    if ((this.phase === 'opening' || this.phase === 'handshake') && this.held.length > 0) {
      // Sent now, it could overtake the CONNECT (API Gateway does not order messages): it goes
      // after the CONNACK instead, and the upstream closes then.
      this.clientGone = true;
      this.startTimer(HANDSHAKE_GRACE_MS, 'no CONNACK in time after the client left; closing');
      return;
    }
    this.finish();
  }

  // Upstream

  private openUpstream(connect: ConnectSummary): void {
    let ws: WebSocket;
    try {
      ws = openUpstream(this.context.upstream, subprotocolFor(connect));
    } catch (error) {
      // ws throws at once for some URLs and TLS options: the same answer as an unreachable broker.
      this.onUpstreamError(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.ws = ws;
    ws.on('open', () => this.onUpstreamOpen());
    ws.on('message', (data: RawData, isBinary: boolean) => this.onUpstreamMessage(data, isBinary));
    ws.on('error', (error: Error) => this.onUpstreamError(error));
    ws.on('close', (code: number, reason: Buffer) => this.onUpstreamClose(code, reason.toString()));
  }

  /** Sends the message holding the CONNECT (and what fits beside it); the rest waits for CONNACK. */
  private onUpstreamOpen(): void {
    if (this.phase !== 'opening') return;
    this.phase = 'handshake';
    this.log.debug('upstream open');
    const [first, ...rest] = groupPackets(this.held, this.context.batching.batchBytes);
    this.held = rest.flat();
    this.heldBytes = this.held.reduce((sum, packet) => sum + packet.length, 0);
    this.outbox.add(first);
    this.outbox.flush();
  }

  private onUpstreamMessage(data: RawData, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    // Text is base64 of whole packets, or a tagged part of one big packet, in a text frame or a
    // binary one; a lenient local gateway may send raw MQTT in binary (../reassembly.ts).
    let bytes: Uint8Array;
    try {
      bytes = isBinary ? this.reassembler.binary(raw) : this.reassembler.text(raw.toString('latin1'));
    } catch (error) {
      if (error instanceof GatewayErrorFrameError) {
        // API Gateway failed a frame of this client: its packets are lost, and a stock client
        // hears of it only by a close, after which it reconnects and resends QoS 1/2 [MQTT-4.4.0-1].
        this.context.stats.gatewayErrorFrames++;
        this.log.warn('upstream API Gateway answered a frame with an error; closing', { gatewayMessage: error.gatewayMessage, requestId: error.requestId });
      } else {
        this.log.warn('upstream sent a message that is neither padded base64 nor a tagged fragment; closing');
      }
      this.finish();
      return;
    }
    // An empty message, or a fragment of a packet not yet complete, is not the CONNACK (docs/TRANSPORT.md).
    if (bytes.length === 0) return;
    if (this.phase === 'handshake') {
      this.phase = 'open';
      this.releaseHeld();
      if (this.clientGone) {
        this.outbox.flush();
        this.finish();
        return;
      }
    }
    this.context.stats.messagesDown++;
    if (bytes.length > 0 && !this.client.write(bytes)) this.ws?.pause();
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.outbox.add(held);
  }

  private onUpstreamError(error: Error): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'opening') {
      // The broker is unreachable: tell the client so, in its protocol version, then close
      // [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5]).
      this.log.warn('upstream unreachable; refusing the client', { detail: describeFailure(this.context.upstream, error) });
      this.context.stats.upstreamFailures++;
      const level = this.connect?.level ?? 4;
      // ws reports a refused upgrade as "Unexpected server response: 403".
      const refused = /Unexpected server response: 40[13]\b/.test(error.message);
      this.client.write(refused ? notAuthorizedConnack(level) : serverUnavailableConnack(level));
    } else {
      this.log.warn('upstream error', { error });
    }
    this.finish();
  }

  private onUpstreamClose(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.log.info('upstream closed; closing the client', { code, reason });
    this.finish();
  }

  /** Closes both sides once; the client's own reconnect and session take over. */
  private finish(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.stopTimer();
    this.outbox.discard();
    this.held = [];
    this.client.end();
    const ws = this.ws;
    if (ws !== undefined) {
      if (ws.readyState === ws.CONNECTING) ws.terminate();
      else if (ws.readyState === ws.OPEN) ws.close(1000);
    }
    this.context.stats.open--;
    this.context.onClosed(this);
  }

  private startTimer(ms: number, reason: string): void {
    this.stopTimer();
    this.timer = setTimeout(() => {
      this.log.info(reason);
      this.finish();
    }, ms);
    this.timer.unref?.();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
