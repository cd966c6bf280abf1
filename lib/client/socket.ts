/**
 * Chooses the WebSocket seen by the transport (text in, text out, as messages of one or more
 * frames; types in socket-types.ts). Two adapters: `ws` in Node (can fragment a message, see
 * node-socket.ts) and the WHATWG WebSocket of browsers, here (cannot: one message is one frame).
 * This module never imports `ws` at run time, so browser bundles do not pull it in.
 */

import type { SocketEvents, SocketFactory, SocketTarget, TextSocket } from './socket-types';

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
    open: async (events) => (await nodeSocketModule()).openNodeSocket(target, events),
  };
}

let nodeSocket: Promise<typeof import('./node-socket')> | undefined;

/**
 * node-socket.ts, imported once per process: an `import()` per connection resolves the module
 * again each time, and under loader hooks (tsx) each resolution is a round trip to the hooks
 * thread, about a fifth of the client's CPU in a 1,000-client connect storm.
 */
function nodeSocketModule(): Promise<typeof import('./node-socket')> {
  nodeSocket ??= import('./node-socket');
  return nodeSocket;
}

/** Node (or a runtime imitating it) without a DOM window: `ws` is available and preferred. */
function isNodeLike(): boolean {
  const scope = globalThis as { process?: { versions?: { node?: unknown } }; window?: unknown };
  return typeof scope.process?.versions?.node === 'string' && scope.window === undefined;
}

/** A WHATWG WebSocket as a SocketFactory. Cannot fragment. */
function nativeSocketFactory(create: () => WebSocket): SocketFactory {
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
