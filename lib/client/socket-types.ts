/**
 * The types shared by the socket adapters (socket.ts for browsers, node-socket.ts for `ws`) and
 * the stream that uses them. A leaf: it imports only types, so neither adapter imports the other.
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
