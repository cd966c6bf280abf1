/**
 * An in-memory Delivery adapter for unit tests. It behaves like `@connections` under the real
 * adapter: unknown or closed connections are gone (and `onGone` is told their id), every posted
 * message is recorded after the same framing as the real adapter (whole packets per message,
 * tagged fragments for a big packet), and 429s go through the same pacing (pacing.ts) on the
 * test's clock: a test throttles a connection for its next N post tries, until a time, or the
 * whole account until a time, and sees the waits, the retries and the slow-subscriber bound.
 * Timeouts are simulated as the real adapter reacts to them (delivery.ts): a fragment is tried
 * once more, a message of whole packets throws DeliveryTimeoutError.
 */
import { FRAGMENT_TIMEOUT_RETRIES, isFragment, sendInOrder } from './delivery';
import type { ConnectionInfo, Delivery, OnGone, OnThrottled, SendOutcome } from './delivery';
import { DeliveryTimeoutError } from './errors';
import { decodeServerMessages } from '../client/reassembly';
import { encodeOutgoing } from './framing';
import type { OutgoingMessage } from './framing';
import { Pacer, THROTTLED, pacedCall, realClock, type PacingClock, type PacingPolicy } from './pacing';
import type { TransportMode } from '../api-gateway';

export interface RecordedPost {
  readonly connectionId: string;
  readonly mode: TransportMode;
  readonly message: OutgoingMessage;
}

/** A simulated timeout: `applied` posts the message before the answer is lost. */
export interface SimulatedTimeout {
  readonly applied: boolean;
}

interface MemoryConnection {
  info: ConnectionInfo;
  /** Post tries still to answer 429; Infinity for all. */
  throttledPosts: number;
  /** Post tries before this time (the clock's) answer 429. */
  throttledUntil: number;
  /** Post tries still to time out, first to last. */
  timeouts: SimulatedTimeout[];
}

export interface MemoryDeliveryOptions {
  readonly onGone?: OnGone;
  readonly onThrottled?: OnThrottled;
  /** The clock the pacer waits on; a test's clock makes waits instant. @default the real one */
  readonly clock?: PacingClock;
  /** @default DEFAULT_PACING */
  readonly pacing?: Partial<PacingPolicy>;
}

export class MemoryDelivery implements Delivery {
  readonly posts: RecordedPost[] = [];
  readonly closed: string[] = [];
  /** Every post try answered 429, in order. */
  readonly throttles: { readonly connectionId: string; readonly at: number }[] = [];
  readonly pacer: Pacer;
  private readonly connections = new Map<string, MemoryConnection>();
  private readonly onGone: OnGone | undefined;
  private readonly onThrottled: OnThrottled | undefined;
  private readonly clock: PacingClock;
  private accountThrottledUntil = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryDeliveryOptions = {}) {
    this.onGone = options.onGone;
    this.onThrottled = options.onThrottled;
    this.clock = options.clock ?? realClock;
    this.pacer = new Pacer(options.pacing, this.clock);
  }

  /** Registers a live connection. */
  open(connectionId: string, info: Partial<ConnectionInfo> = {}): void {
    const now = new Date();
    this.connections.set(connectionId, {
      info: { connectedAt: now, lastActiveAt: now, sourceIp: '127.0.0.1', ...info },
      throttledPosts: 0,
      throttledUntil: Number.NEGATIVE_INFINITY,
      timeouts: [],
    });
  }

  /** The connection vanishes without a word, as when `$disconnect` is lost. */
  simulateGone(connectionId: string): void {
    this.connections.delete(connectionId);
  }

  /**
   * The connection's next `posts` post tries are answered 429 (its buffer is full), or every try
   * before `until` on the clock. The adapter paces and retries them; a throttle that outlasts the
   * slow-subscriber bound ends the send as `throttled`.
   */
  simulateThrottle(connectionId: string, throttle: number | { readonly posts?: number; readonly until?: number } = Number.POSITIVE_INFINITY): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return;
    const { posts, until } = typeof throttle === 'number' ? { posts: throttle, until: undefined } : throttle;
    if (posts !== undefined) connection.throttledPosts = posts;
    if (until !== undefined) connection.throttledUntil = until;
  }

  /** Every post try to any connection before `until` is answered 429 (the account's rate is exceeded). */
  simulateAccountThrottle(until: number): void {
    this.accountThrottledUntil = until;
  }

  /** The connection's next post tries get no answer in time, posted or not (`applied`). */
  simulateTimeout(connectionId: string, ...timeouts: SimulatedTimeout[]): void {
    this.connections.get(connectionId)?.timeouts.push(...timeouts);
  }

  isOpen(connectionId: string): boolean {
    return this.connections.has(connectionId);
  }

  /** The bytes a connection has received so far, reassembled from its posts as a client would. */
  received(connectionId: string): Uint8Array {
    return decodeServerMessages(this.posts.filter((post) => post.connectionId === connectionId).map((post) => post.message));
  }

  async send(connectionId: string, bytes: Uint8Array, mode: TransportMode): Promise<SendOutcome> {
    return sendInOrder(connectionId, encodeOutgoing(bytes, mode), (message, posted) => this.post(connectionId, mode, message, posted), this.pacer, this.onGone);
  }


  async close(connectionId: string): Promise<void> {
    this.pacer.forget(connectionId);
    if (this.connections.delete(connectionId)) this.closed.push(connectionId);
  }

  async info(connectionId: string): Promise<ConnectionInfo | undefined> {
    return this.connections.get(connectionId)?.info;
  }

  /** One message under the pacer, with the real adapter's reaction to timeouts. */
  private async post(connectionId: string, mode: TransportMode, message: OutgoingMessage, posted: number): Promise<'posted' | 'gone' | typeof THROTTLED> {
    for (let timeouts = 0; ; timeouts += 1) {
      try {
        return await pacedCall(this.pacer, connectionId, async () => this.postOnce(connectionId, mode, message), this.onThrottled);
      } catch (error) {
        if (!(error instanceof SimulatedTimeoutError)) throw error;
        if (isFragment(message) && timeouts < FRAGMENT_TIMEOUT_RETRIES) continue;
        throw new DeliveryTimeoutError(connectionId, `posting to ${connectionId}: no answer in time (simulated)`, posted, { cause: error });
      }
    }
  }

  /** One try: 429 and 410 are answers, a simulated timeout throws (as the SDK's TimeoutError). */
  private postOnce(connectionId: string, mode: TransportMode, message: OutgoingMessage): 'posted' | 'gone' | typeof THROTTLED {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return 'gone';
    const now = this.clock.now();
    if (connection.throttledPosts > 0 || now < connection.throttledUntil || now < this.accountThrottledUntil) {
      if (connection.throttledPosts > 0) connection.throttledPosts -= 1;
      this.throttles.push({ connectionId, at: now });
      return THROTTLED;
    }
    const timeout = connection.timeouts.shift();
    if (timeout !== undefined && !timeout.applied) throw new SimulatedTimeoutError('not posted');
    this.posts.push({ connectionId, mode, message });
    connection.info = { ...connection.info, lastActiveAt: new Date() };
    if (timeout !== undefined) throw new SimulatedTimeoutError('posted, answer lost');
    return 'posted';
  }
}

/** The simulated SDK TimeoutError, turned into DeliveryTimeoutError as the real adapter does. */
class SimulatedTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}
