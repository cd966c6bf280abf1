/**
 * The client side of a relay, whatever carries it: a TCP or TLS socket (`mqtt://`, `mqtts://`) or
 * a WebSocket in binary frames (`ws://`, `wss://`). Each adapter turns its transport into a plain
 * MQTT byte stream with backpressure.
 */
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';

export interface DownstreamEvents {
  data(bytes: Uint8Array): void;
  /** The client went away, or the transport failed (`error` set). Called once. */
  closed(error?: Error): void;
  /** The transport's write buffer emptied after `write` returned false. */
  drain(): void;
}

export interface Downstream {
  /** `tcp`, `tls`, `ws` or `wss`: for logs */
  readonly transport: string;
  /** The client's address, `ip:port`: for logs */
  readonly remote: string;
  start(events: DownstreamEvents): void;
  /** Writes bytes; false when the buffer is full (wait for `drain`). */
  write(bytes: Uint8Array): boolean;
  /** Sends what is buffered, then closes. */
  end(): void;
  pause(): void;
  resume(): void;
}

/** How long a graceful end may take before the socket is destroyed. */
const END_GRACE_MS = 5_000;

export function socketDownstream(socket: Socket, transport: 'tcp' | 'tls'): Downstream {
  socket.setNoDelay(true);
  return {
    transport,
    remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
    start(events) {
      let done = false;
      const closed = (error?: Error) => {
        if (done) return;
        done = true;
        events.closed(error);
      };
      socket.on('data', (chunk: Buffer) => events.data(chunk));
      socket.on('drain', () => events.drain());
      socket.on('end', () => closed());
      socket.on('error', (error) => closed(error));
      socket.on('close', () => closed());
    },
    write: (bytes) => socket.write(bytes),
    end() {
      if (socket.destroyed) return;
      socket.end();
      setTimeout(() => socket.destroy(), END_GRACE_MS).unref();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

/** Binary WebSocket clients; above this many unsent bytes `write` reports a full buffer. */
const WS_HIGH_WATER_MARK = 1024 * 1024;

export function webSocketDownstream(ws: WebSocket, remote: string, transport: 'ws' | 'wss'): Downstream {
  let events: DownstreamEvents | undefined;
  let waitingForDrain = false;
  const sent = (): void => {
    if (waitingForDrain && ws.bufferedAmount <= WS_HIGH_WATER_MARK / 2) {
      waitingForDrain = false;
      events?.drain();
    }
  };
  return {
    transport,
    remote,
    start(handlers) {
      events = handlers;
      let done = false;
      const closed = (error?: Error) => {
        if (done) return;
        done = true;
        handlers.closed(error);
      };
      ws.on('message', (data: RawData, isBinary: boolean) => {
        // MQTT data travels in binary frames only; anything else closes the connection [MQTT-6.0.0-1].
        if (!isBinary) {
          ws.close(1003, 'MQTT over WebSocket uses binary frames');
          closed(new Error('the client sent a text frame'));
          return;
        }
        handlers.data(toBytes(data));
      });
      ws.on('error', (error) => closed(error));
      ws.on('close', () => closed());
    },
    write(bytes) {
      if (ws.readyState !== ws.OPEN) return true;
      ws.send(bytes, { binary: true }, sent);
      if (ws.bufferedAmount <= WS_HIGH_WATER_MARK) return true;
      waitingForDrain = true;
      return false;
    },
    end() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
      setTimeout(() => ws.terminate(), END_GRACE_MS).unref();
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

function toBytes(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}
