/**
 * A byte-level MQTT client for the local gateway in strict mode, framed as API Gateway frames it:
 * subprotocol `mqtt`, every WebSocket message a text frame holding base64. It sends packets
 * encoded with lib/mqtt (or raw bytes, for malformed input), one WebSocket message per call, and
 * records what comes back: the decoded packets (fragments reassembled), in order, and the close code.
 *
 * It acknowledges nothing by itself: a test sends every PUBACK, PUBREC, PUBREL and PUBCOMP.
 * Waits are event-driven and bounded; a wait that fails names what was received so far.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { connectPacket as baseConnect } from './packets';
import { Reassembler } from '../../lib/client/reassembly';
import {
  createDecoder,
  decode,
  encode,
  type ConnackPacket,
  type ConnectPacket,
  type DecoderState,
  type Packet,
  type PacketType,
  type ProtocolVersion,
} from '../../lib/mqtt';

/** The packet type named `T`. */
export type PacketOf<T extends PacketType> = Extract<Packet, { type: T }>;

/** How long a wait lasts before it fails. */
const DEFAULT_WAIT_MS = 10_000;

/** Every client not yet closed, so that a file can end them all in afterAll. */
const openClients = new Set<RawClient>();

/** A CONNECT for `version` with a fresh client id, clean, keep alive 60; `fields` override. */
export function connectPacket(version: ProtocolVersion, fields: Partial<ConnectPacket> = {}): ConnectPacket {
  return baseConnect(version, { clientId: `raw-${randomUUID().slice(0, 8)}`, ...fields });
}

export class RawClient {
  /** Every packet received, in order. */
  readonly packets: Packet[] = [];
  /** Resolves with the close code once the connection has closed. */
  readonly closed: Promise<number>;
  /** The close code, once closed (1005: closed without a status code, as `@connections` DELETE does). */
  closeCode: number | undefined;
  /** What the codec could not decode, if anything: received bytes are expected to be valid MQTT. */
  decodeError: unknown;
  private readonly decoder: DecoderState;
  private readonly reassembler = new Reassembler();
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly ws: WebSocket,
    readonly version: ProtocolVersion,
  ) {
    this.decoder = createDecoder({ protocolVersion: version });
    ws.on('message', (data) => {
      try {
        // Untagged posts are whole packets; a big packet comes in tagged fragments (docs/TRANSPORT.md).
        this.packets.push(...decode(this.decoder, this.reassembler.text(String(data))).packets);
      } catch (error) {
        this.decodeError ??= error;
      }
      this.notify();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        openClients.delete(this);
        resolve(code);
        this.notify();
      }),
    );
  }

  /** Opens a WebSocket to `url` offering `protocols` (the subprotocol `mqtt` by default). */
  static async open(url: string, version: ProtocolVersion, protocols: string | string[] = 'mqtt'): Promise<RawClient> {
    const ws = new WebSocket(url, protocols);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const client = new RawClient(ws, version);
    openClients.add(client);
    return client;
  }

  /** Opens a connection and completes CONNECT / CONNACK; fails unless the CONNACK accepts it. */
  static async connected(url: string, version: ProtocolVersion, fields: Partial<ConnectPacket> = {}): Promise<RawClient> {
    const client = await RawClient.open(url, version);
    const connack = await client.connect(fields);
    if (connack.reasonCode !== 0) throw new Error(`CONNECT refused with ${connack.reasonCode} (protocol ${version})`);
    return client;
  }

  /** Ends every client still open (for afterAll). */
  static terminateAll(): void {
    for (const client of openClients) client.terminate();
  }

  get isClosed(): boolean {
    return this.closeCode !== undefined;
  }

  /** Sends a CONNECT (see `connectPacket`) and resolves with the CONNACK. */
  async connect(fields: Partial<ConnectPacket> = {}): Promise<ConnackPacket> {
    await this.send(connectPacket(this.version, fields));
    return this.next('connack');
  }

  /** Sends the packets, encoded for this client's version, as ONE WebSocket message. */
  send(...packets: Packet[]): Promise<void> {
    return this.sendBytes(Buffer.concat(packets.map((p) => encode(p, this.version))));
  }

  /** Sends bytes as they are (malformed input welcome), base64 in one text frame. */
  sendBytes(bytes: Uint8Array): Promise<void> {
    return this.sendFrame(Buffer.from(bytes).toString('base64'));
  }

  /** Sends one WebSocket message as it is: a string as a text frame, a Buffer as a binary frame. */
  sendFrame(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, (error) => (error ? reject(error) : resolve())));
  }

  /** The packets of one type received so far, in order. */
  of<T extends PacketType>(type: T): PacketOf<T>[] {
    return this.packets.filter((p): p is PacketOf<T> => p.type === type);
  }

  /**
   * The first packet of `type` (that `match` accepts) received since the connection opened, now
   * or once it arrives. Fails if the connection closes, or the wait ends, without it.
   */
  async next<T extends PacketType>(type: T, match: (packet: PacketOf<T>) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<PacketOf<T>> {
    const find = () => this.of(type).find(match);
    await this.until(() => find() !== undefined || this.isClosed, timeoutMs, `a ${type}`);
    const found = find();
    if (found === undefined) throw new Error(`closed (${this.closeCode}) before a ${type} arrived; received ${this.describe()}`);
    return found;
  }

  /** Resolves once `check` holds (checked on every packet and on close); fails after `timeoutMs`. */
  until(check: () => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'the condition'): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!check()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waited ${timeoutMs} ms for ${what}; received ${this.describe()}${this.isClosed ? `, closed (${this.closeCode})` : ''}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
    });
  }

  /** Resolves with the close code once the server has closed the connection. */
  async waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<number> {
    await this.until(() => this.isClosed, timeoutMs, 'the close');
    return this.closeCode as number;
  }

  /** Drops the connection without a close frame, as a network failure would. */
  terminate(): void {
    this.ws.terminate();
  }

  /** Drops the connection and resolves once it is closed. */
  async end(): Promise<void> {
    if (this.isClosed) return;
    this.terminate();
    await this.closed;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private describe(): string {
    const types = this.packets.map((p) => p.type);
    const error = this.decodeError === undefined ? '' : ` (undecodable bytes: ${String(this.decodeError)})`;
    return `[${types.join(', ')}]${error}`;
  }
}
