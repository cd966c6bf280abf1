/**
 * The WebSocket seen by the transport: text in, text out, as messages of one or more frames. Two
 * adapters implement it: `ws` in Node (can fragment a message, see node-socket.ts) and the
 * WHATWG WebSocket of browsers (cannot: one message is one frame). This module never imports `ws`
 * at run time, so browser bundles do not pull it in.
 */

import type { ClientOptions } from 'ws';

export interface SocketEvents {
  open(): void;
  /** A text message, whole (fragments already joined by the WebSocket implementation) */
  text(text: string): void;
  /** A binary message; API Gateway never sends one, a lenient server might */
  binary(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
  error(error: Error): void;
}

export interface TextSocket {
  /**
   * Sends one text message made of `frames`, in order (more than one only if the factory can
   * fragment). `done` runs once the data is handed to the network, with an error if it failed.
   */
  send(frames: readonly string[], done: (error?: Error) => void): void;
  /** Closes with 1000, or aborts a handshake in progress. */
  close(): void;
  /** Stops and restarts reading, for backpressure; optional. */
  pause?(): void;
  resume?(): void;
}

export interface SocketFactory {
  /** Whether a message may span several frames (true for `ws`, false for browsers). */
  readonly canFragment: boolean;
  open(events: SocketEvents): TextSocket | Promise<TextSocket>;
}

/** Where and how to open the WebSocket. */
export interface SocketTarget {
  readonly url: string;
  /** Offered subprotocols: ['mqtt'], or ['mqttv3.1'] for MQTT 3.1 */
  readonly protocols: string[];
  /** Options for the `ws` constructor (Node only): headers, TLS, agent... */
  readonly wsOptions?: ClientOptions;
}

export interface SocketChoice {
  /** Use the runtime's global WebSocket even in Node (no fragmentation then). */
  readonly forceNativeWebSocket?: boolean;
  /** Builds a WHATWG-compatible WebSocket, e.g. from MQTT.js's `createWebsocket` option. */
  readonly createWebSocket?: (url: string, protocols: string[]) => WebSocket;
}

/** `ws` in Node, else the global WebSocket; a `createWebSocket` function wins over both. */
export function chooseSocketFactory(target: SocketTarget, choice: SocketChoice = {}): SocketFactory {
  const { createWebSocket } = choice;
  if (createWebSocket) return nativeSocketFactory(() => createWebSocket(target.url, target.protocols));
  if (choice.forceNativeWebSocket || !isNodeLike()) {
    return nativeSocketFactory(() => new WebSocket(target.url, target.protocols));
  }
  return {
    canFragment: true,
    open: async (events) => (await import('./node-socket')).openNodeSocket(target, events),
  };
}

/** Node (or a runtime imitating it) without a DOM window: `ws` is available and preferred. */
export function isNodeLike(): boolean {
  const scope = globalThis as { process?: { versions?: { node?: unknown } }; window?: unknown };
  return typeof scope.process?.versions?.node === 'string' && scope.window === undefined;
}

/** A WHATWG WebSocket as a SocketFactory. Cannot fragment. */
export function nativeSocketFactory(create: () => WebSocket): SocketFactory {
  return { canFragment: false, open: (events) => wrapNative(create(), events) };
}

function wrapNative(socket: WebSocket, events: SocketEvents): TextSocket {
  socket.binaryType = 'arraybuffer';
  socket.addEventListener('open', () => events.open());
  socket.addEventListener('message', (event: MessageEvent) => {
    const { data } = event as MessageEvent<unknown>;
    if (typeof data === 'string') events.text(data);
    else if (data instanceof ArrayBuffer) events.binary(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) events.binary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  });
  socket.addEventListener('close', (event: CloseEvent) => events.close(event.code, event.reason));
  socket.addEventListener('error', () => events.error(new Error('WebSocket error')));
  return {
    send(frames, done) {
      if (frames.length !== 1) {
        done(new RangeError(`a browser WebSocket cannot fragment a message into ${frames.length} frames`));
        return;
      }
      try {
        socket.send(frames[0]);
      } catch (error) {
        done(error as Error);
        return;
      }
      done();
    },
    close() {
      if (socket.readyState === socket.CONNECTING || socket.readyState === socket.OPEN) socket.close(1000);
    },
  };
}
