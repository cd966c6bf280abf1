/**
 * An in-memory Delivery adapter for unit tests. It behaves like `@connections`: unknown or closed
 * connections are gone (and `onGone` is told their id), throttles can be simulated, and every
 * posted message is recorded after the same framing as the real adapter (whole packets per
 * message, tagged fragments for a big packet).
 */
import type { ConnectionInfo, Delivery, OnGone, SendOutcome } from './delivery';
import { decodeServerMessages } from '../client/reassembly';
import { encodeOutgoing } from './framing';
import type { OutgoingMessage } from './framing';
import type { TransportMode } from '../api-gateway';

export interface RecordedPost {
  readonly connectionId: string;
  readonly mode: TransportMode;
  readonly message: OutgoingMessage;
}

interface MemoryConnection {
  info: ConnectionInfo;
  /** Posts still to refuse with a throttle; Infinity for all. */
  throttledPosts: number;
}

export class MemoryDelivery implements Delivery {
  readonly posts: RecordedPost[] = [];
  readonly closed: string[] = [];
  private readonly connections = new Map<string, MemoryConnection>();
  private readonly onGone: OnGone | undefined;

  constructor(options: { readonly onGone?: OnGone } = {}) {
    this.onGone = options.onGone;
  }

  /** Registers a live connection. */
  open(connectionId: string, info: Partial<ConnectionInfo> = {}): void {
    const now = new Date();
    this.connections.set(connectionId, {
      info: { connectedAt: now, lastActiveAt: now, sourceIp: '127.0.0.1', ...info },
      throttledPosts: 0,
    });
  }

  /** The connection vanishes without a word, as when `$disconnect` is lost. */
  simulateGone(connectionId: string): void {
    this.connections.delete(connectionId);
  }

  /** The next `posts` posts to the connection end as throttled (as after the real adapter's retries). */
  simulateThrottle(connectionId: string, posts = Number.POSITIVE_INFINITY): void {
    const connection = this.connections.get(connectionId);
    if (connection !== undefined) connection.throttledPosts = posts;
  }

  isOpen(connectionId: string): boolean {
    return this.connections.has(connectionId);
  }

  /** The bytes a connection has received so far, reassembled from its posts as a client would. */
  received(connectionId: string): Uint8Array {
    return decodeServerMessages(this.posts.filter((post) => post.connectionId === connectionId).map((post) => post.message));
  }

  async send(connectionId: string, bytes: Uint8Array, mode: TransportMode): Promise<SendOutcome> {
    let posted = 0;
    for (const message of encodeOutgoing(bytes, mode)) {
      const connection = this.connections.get(connectionId);
      if (connection === undefined) {
        await this.onGone?.(connectionId);
        return { status: 'gone', posted };
      }
      if (connection.throttledPosts > 0) {
        connection.throttledPosts -= 1;
        return { status: 'throttled', posted };
      }
      this.posts.push({ connectionId, mode, message });
      connection.info = { ...connection.info, lastActiveAt: new Date() };
      posted += 1;
    }
    return { status: 'sent', posted };
  }

  async close(connectionId: string): Promise<void> {
    if (this.connections.delete(connectionId)) this.closed.push(connectionId);
  }

  async info(connectionId: string): Promise<ConnectionInfo | undefined> {
    return this.connections.get(connectionId)?.info;
  }
}
