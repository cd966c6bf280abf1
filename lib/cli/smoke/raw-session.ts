/**
 * A byte-level MQTT connection over `ws`, with its own frame handling, for the checks that look
 * at frames: the upgrade's answer, the type of each server frame, client frames of an exact size,
 * an abrupt close. Client messages are unnumbered base64 in one text frame each
 * (docs/TRANSPORT.md section 3); server frames are read by ./frames.ts.
 *
 * Every wait is bounded by the check's scope: when the check ends (passed, failed or timed out)
 * the socket is terminated and pending waits reject.
 */
import WebSocket from 'ws';
import { createDecoder, decode, encode, type DecoderState, type Packet, type ProtocolVersion } from '../../mqtt';
import { CheckScope, SmokeStepError, type SmokeContext } from './check';
import { classifyFrame, FragmentJoiner, type FrameContent } from './frames';

export interface ReceivedFrame {
  readonly kind: FrameContent['kind'];
  readonly encoding: FrameContent['encoding'];
  /** Types of the packets the frame completed, e.g. ['connack']. */
  readonly packets: readonly string[];
}

export type RawOpenResult =
  | { readonly kind: 'open'; readonly session: RawSession; readonly protocol: string | undefined; readonly extensions: string | undefined }
  | { readonly kind: 'refused'; readonly status: number }
  | { readonly kind: 'failed'; readonly message: string; readonly protocol?: string | undefined };

export interface RawOpenOptions {
  readonly url: string;
  readonly protocols?: readonly string[];
  /** Offer permessage-deflate, as browsers do. @default false */
  readonly offerDeflate?: boolean;
}

/** Opens a WebSocket; answers how the upgrade went, never throws. */
export async function openRaw(ctx: SmokeContext, scope: CheckScope, options: RawOpenOptions): Promise<RawOpenResult> {
  const ws = new WebSocket(options.url, [...(options.protocols ?? ['mqtt'])], {
    perMessageDeflate: options.offerDeflate ?? false,
    handshakeTimeout: ctx.timeoutMs,
    followRedirects: false,
  });
  scope.own({ close: () => ws.terminate() });
  // After the first outcome, later errors (the refused request torn down, say) are expected.
  ws.on('error', () => undefined);
  let protocol: string | undefined;
  let extensions: string | undefined;
  ws.on('upgrade', (res) => {
    protocol = headerOf(res.headers['sec-websocket-protocol']);
    extensions = headerOf(res.headers['sec-websocket-extensions']);
  });
  return new Promise<RawOpenResult>((resolve) => {
    const stop = scope.onEnd(() => resolve({ kind: 'failed', message: 'the check ended' }));
    ws.once('unexpected-response', (req, res) => {
      stop();
      res.resume();
      req.destroy();
      resolve({ kind: 'refused', status: res.statusCode ?? 0 });
    });
    ws.once('error', (error) => {
      stop();
      resolve({ kind: 'failed', message: error.message.split('\n')[0]!, protocol });
    });
    ws.once('open', () => {
      stop();
      resolve({ kind: 'open', session: new RawSession(ws, ctx, scope), protocol, extensions });
    });
  });
}

/** Opens a WebSocket that must open; fails the check with the reason otherwise. */
export async function openRawOrFail(ctx: SmokeContext, scope: CheckScope, url = ctx.url): Promise<RawSession> {
  scope.step('the WebSocket upgrade');
  const opened = await openRaw(ctx, scope, { url });
  if (opened.kind === 'open') return opened.session;
  throw new SmokeStepError(opened.kind === 'refused' ? `upgrade refused with HTTP ${opened.status}` : `cannot connect: ${opened.message}`);
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

export class RawSession {
  readonly frames: ReceivedFrame[] = [];
  readonly packets: Packet[] = [];
  /** The close code once closed (1005: no code, 1006: dropped). */
  closeCode: number | undefined;
  /** Why the stream could not be read, if it could not. */
  readError: string | undefined;
  private readonly decoder: DecoderState;
  private readonly joiner = new FragmentJoiner();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SmokeContext,
    private readonly scope: CheckScope,
  ) {
    this.decoder = createDecoder({ protocolVersion: ctx.protocolVersion });
    ws.on('message', (data, isBinary) => this.onFrame(toBytes(data), isBinary));
    ws.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
    ws.on('error', () => undefined);
  }

  get version(): ProtocolVersion {
    return this.ctx.protocolVersion;
  }

  /** Sends one packet as one unnumbered base64 text frame. */
  send(packet: Packet): void {
    this.sendText(Buffer.from(encode(packet, this.version)).toString('base64'));
  }

  /** Sends `text` as one text frame (ws never fragments a send). */
  sendText(text: string): void {
    this.ws.send(text, { binary: false, fin: true });
  }

  /** Destroys the TCP connection: no DISCONNECT, no close frame. */
  destroy(): void {
    this.ws.terminate();
  }

  /** A normal close (1000) after the given packets. */
  close(): void {
    this.ws.close(1000);
  }

  /** Resolves with the first received packet `match` accepts (from the start); rejects when the connection closes first. */
  waitFor<T extends Packet>(what: string, match: (packet: Packet) => packet is T): Promise<T>;
  waitFor(what: string, match: (packet: Packet) => boolean): Promise<Packet>;
  waitFor(what: string, match: (packet: Packet) => boolean): Promise<Packet> {
    this.scope.step(what);
    return this.until(() => {
      const found = this.packets.find(match);
      if (found !== undefined) return { value: found };
      if (this.readError !== undefined) throw new SmokeStepError(`${what}: the server's frames could not be read (${this.readError})`);
      if (this.closeCode !== undefined) throw new SmokeStepError(`${what}: the connection closed first (code ${this.closeCode})`);
      return undefined;
    });
  }

  /** Resolves with the close code once the connection has closed. */
  waitClosed(what: string): Promise<number> {
    this.scope.step(what);
    return this.until(() => (this.closeCode === undefined ? undefined : { value: this.closeCode }));
  }

  /** The first packet `match` accepts, or the close code if the connection closes first. */
  waitForOrClose(what: string, match: (packet: Packet) => boolean): Promise<{ packet: Packet } | { closed: number }> {
    this.scope.step(what);
    return this.until<{ packet: Packet } | { closed: number }>(() => {
      const packet = this.packets.find(match);
      if (packet !== undefined) return { value: { packet } };
      if (this.closeCode !== undefined) return { value: { closed: this.closeCode } };
      return undefined;
    });
  }

  private until<T>(probe: () => { value: T } | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        try {
          const found = probe();
          if (found === undefined) return false;
          resolve(found.value);
        } catch (error) {
          reject(error);
        }
        return true;
      };
      if (check()) return;
      const listener = (): void => {
        if (check()) done();
      };
      const stop = this.scope.onEnd(() => {
        done();
        reject(new SmokeStepError('the check ended'));
      });
      const done = (): void => {
        this.listeners.delete(listener);
        stop();
      };
      this.listeners.add(listener);
    });
  }

  private onFrame(data: Uint8Array, isBinary: boolean): void {
    const content = classifyFrame(data, isBinary);
    const completed: Packet[] = [];
    try {
      if (content.kind === 'mqtt') completed.push(...decode(this.decoder, content.bytes).packets);
      if (content.kind === 'fragment') {
        const whole = this.joiner.add(content);
        if (whole !== undefined) completed.push(...decode(this.decoder, whole).packets);
      }
    } catch (error) {
      this.readError ??= error instanceof Error ? error.name : String(error);
    }
    if (content.kind === 'unknown') this.readError ??= `a ${content.encoding} frame of ${content.length} bytes that is neither base64 MQTT nor an error message`;
    if (content.kind === 'integration-error') {
      this.ctx.integrationErrors.push({ check: this.scope.check, encoding: content.encoding, body: content.body });
    }
    this.frames.push({ kind: content.kind, encoding: content.encoding, packets: completed.map((p) => p.type) });
    this.packets.push(...completed);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}
