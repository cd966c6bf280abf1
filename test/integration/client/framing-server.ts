/**
 * A tiny MQTT server speaking the Stratus framing the way API Gateway imposes it: binary frames
 * close the connection with 1003, client messages are base64 text holding whole packets (numbered
 * `<seq>:<base64>` or not, docs/TRANSPORT.md section 3), and
 * server data may be cut anywhere across messages. It records every client frame from the raw TCP
 * bytes, so tests can check frame sizes and opcodes without relying on `ws` internals.
 */

import type { AddressInfo } from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { WebSocketServer, type WebSocket } from 'ws';

export interface RawFrame {
  readonly fin: boolean;
  /** 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong */
  readonly opcode: number;
  /** Payload length in bytes */
  readonly length: number;
}

/** One client WebSocket message as the server's `ws` delivered it, with what it carried. */
export interface ClientMessage {
  readonly text: string;
  /** The message's number, for a numbered message */
  readonly seq: number | undefined;
  readonly packets: Packet[];
  /** The packets' sizes add up to the decoded length: the message holds whole packets only */
  readonly wholePackets: boolean;
}

export interface ServerConnection {
  readonly socket: WebSocket;
  readonly protocol: string;
  readonly frames: RawFrame[];
  readonly messages: ClientMessage[];
  /** Close code the server saw, once closed */
  closeCode?: number;
  /** Sends `bytes` as base64 text messages cut at `cuts` (offsets into `bytes`). */
  sendCut(bytes: Uint8Array, cuts: readonly number[]): void;
}

export type PacketHandler = (packet: Packet, connection: ServerConnection) => void;

export class FramingServer {
  readonly connections: ServerConnection[] = [];
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
    private readonly onPacket: PacketHandler,
  ) {}

  /** Listens on 127.0.0.1, port 0. `onPacket` overrides the default answers (see `answer`). */
  static async start(onPacket: PacketHandler = answer): Promise<FramingServer> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (offered) => ['mqtt', 'mqttv3.1'].find((p) => offered.has(p)) ?? false,
    });
    await new Promise<void>((resolve, reject) => wss.once('listening', resolve).once('error', reject));
    const { port } = wss.address() as AddressInfo;
    const server = new FramingServer(wss, `ws://127.0.0.1:${port}/`, onPacket);
    wss.on('connection', (socket, request) => server.accept(socket, request.socket));
    return server;
  }

  /** All messages received so far, over every connection. */
  get messages(): ClientMessage[] {
    return this.connections.flatMap((c) => c.messages);
  }

  get frames(): RawFrame[] {
    return this.connections.flatMap((c) => c.frames);
  }

  /** Resolves once `predicate` holds; re-checked after each client message. */
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket, tcp: NodeJS.EventEmitter): void {
    const parser = mqttPacket.parser();
    const connection: ServerConnection = {
      socket,
      protocol: socket.protocol,
      frames: [],
      messages: [],
      sendCut: (bytes, cuts) => sendCut(socket, bytes, cuts),
    };
    this.connections.push(connection);
    const rawFrames = new FrameReader();
    tcp.on('data', (data: Buffer) => connection.frames.push(...rawFrames.read(data)));
    let parsed: Packet[] = [];
    parser.on('packet', (packet) => parsed.push(packet));
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        socket.close(1003, 'binary frames are not supported'); // as API Gateway does
        return;
      }
      const text = data.toString('latin1');
      const numbered = /^([1-9][0-9]{0,14}):/.exec(text);
      const seq = numbered === null ? undefined : Number(numbered[1]);
      const bytes = Buffer.from(numbered === null ? text : text.slice(numbered[0].length), 'base64');
      parsed = [];
      parser.parse(bytes);
      const size = parsed.reduce((sum, p) => sum + packetSize(p), 0);
      connection.messages.push({ text, seq, packets: parsed, wholePackets: size === bytes.length });
      for (const packet of parsed) this.onPacket(packet, connection);
      this.waiters.splice(0).forEach((wake) => wake());
    });
    socket.on('close', (code: number) => {
      connection.closeCode = code;
      this.waiters.splice(0).forEach((wake) => wake());
    });
  }
}

/** Default answers: CONNACK, SUBACK, PUBACK, PINGRESP; DISCONNECT closes. */
export function answer(packet: Packet, connection: ServerConnection): void {
  const reply = (p: Packet): void => connection.sendCut(mqttPacket.generate(p, versionOf(connection)), []);
  switch (packet.cmd) {
    case 'connect':
      versions.set(connection, packet.protocolVersion ?? 4);
      reply({ cmd: 'connack', sessionPresent: false, returnCode: 0, reasonCode: 0 });
      break;
    case 'subscribe':
      reply({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) });
      break;
    case 'publish':
      if (packet.qos === 1) reply({ cmd: 'puback', messageId: packet.messageId ?? 0 });
      break;
    case 'pingreq':
      reply({ cmd: 'pingresp' });
      break;
    case 'disconnect':
      connection.socket.close(1000);
      break;
    default:
      break;
  }
}

const versions = new WeakMap<ServerConnection, number>();

/** mqtt-packet generate options for the connection's protocol version. */
export function versionOf(connection: ServerConnection): { protocolVersion: number } {
  return { protocolVersion: versions.get(connection) ?? 4 };
}

function sendCut(socket: WebSocket, bytes: Uint8Array, cuts: readonly number[]): void {
  const bounds = [0, ...cuts, bytes.length];
  for (let i = 1; i < bounds.length; i++) {
    const chunk = bytes.subarray(bounds[i - 1], bounds[i]);
    if (chunk.length > 0) socket.send(Buffer.from(chunk).toString('base64'));
  }
}

/** Whole size of a parsed packet: type byte, Remaining Length varint, remaining bytes. */
function packetSize(packet: Packet): number {
  const remaining = packet.length ?? 0;
  const varint = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + varint + remaining;
}

/** Parses client-to-server WebSocket frames (RFC 6455 section 5.2) from raw TCP bytes. */
class FrameReader {
  private pending = Buffer.alloc(0);

  read(data: Buffer): RawFrame[] {
    this.pending = Buffer.concat([this.pending, data]);
    const frames: RawFrame[] = [];
    for (;;) {
      const frame = this.next();
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  private next(): RawFrame | undefined {
    const buf = this.pending;
    if (buf.length < 2) return undefined;
    let length = buf[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buf.length < 4) return undefined;
      length = buf.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buf.length < 10) return undefined;
      length = Number(buf.readBigUInt64BE(2));
      offset = 10;
    }
    if (buf[1] & 0x80) offset += 4; // masking key
    if (buf.length < offset + length) return undefined;
    this.pending = buf.subarray(offset + length);
    return { fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, length };
  }
}
