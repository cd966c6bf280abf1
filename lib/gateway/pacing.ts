/**
 * Pacing of `@connections` posts under 429 LimitExceededException, shared by the delivery adapters
 * (delivery.ts on AWS, memory-delivery.ts in tests). One Pacer per adapter, so per Lambda
 * container (which runs one invocation at a time) or per local-mode process.
 *
 * Per connection. A 429 on a connection means its outgoing buffer is full (a slow client) or the
 * account is over its rate. The connection then gets a delay: `baseDelayMs` after its first 429,
 * doubled after each further 429 of a post sent under the current delay, up to `maxDelayMs`, and
 * halved by each post that succeeds (dropped below `baseDelayMs`: the connection is free again).
 * While it has a delay, each post to it, a retry or any later post of the process, takes the next
 * turn: it starts no earlier than the previous turn plus the delay (with equal jitter on the wait
 * after a 429). So concurrent senders to one slow subscriber queue up instead of hammering it.
 *
 * The bound. A connection is "stalled" from its first 429 until one of its posts succeeds. A turn
 * that would start more than `slowSubscriberMs` after the stall began is refused: the sender gives
 * up (SendOutcome `throttled`) and the runtime closes the connection as a slow subscriber. So a
 * sender waits at most `slowSubscriberMs` plus one request for a connection that stays throttled.
 * Other senders to it are refused at once, until it is forgotten: closed, gone, or not tried for
 * `slowSubscriberMs`.
 *
 * Account-wide. The 10,000 requests per second of the account are shared by every connection and
 * by API Gateway's inbound traffic: when that limit is hit, every connection answers 429. The
 * pacer keeps the outcomes of the last `accountWindow` answers; when at least half of them are
 * 429s from at least `accountConnections` distinct connections, the throttle is taken for the
 * account's, and every post of the process (to any connection) waits for a global pause:
 * `accountBaseDelayMs`, doubled while it goes on, up to `accountMaxDelayMs`, halved by successes.
 * One slow subscriber drained in a loop never triggers it (one connection); a burst of 429s across
 * many connections does.
 *
 * Pure bookkeeping around an injected clock: no I/O. The clock's sleep is where senders wait.
 */

export interface PacingPolicy {
  /** The first delay of a connection after a 429. @default 100 */
  readonly baseDelayMs: number;
  /** The longest delay between two posts to one throttled connection. @default 1_000 */
  readonly maxDelayMs: number;
  /** How long a connection may stay throttled (no post succeeding) before a sender gives up. @default 3_000 */
  readonly slowSubscriberMs: number;
  /** Answers kept to tell an account-wide throttle from slow subscribers. @default 32 */
  readonly accountWindow: number;
  /** Distinct throttled connections among them that make the throttle account-wide. @default 4 */
  readonly accountConnections: number;
  /** The first global pause. @default 100 */
  readonly accountBaseDelayMs: number;
  /** The longest global pause. @default 2_000 */
  readonly accountMaxDelayMs: number;
}

export const DEFAULT_PACING: PacingPolicy = {
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  slowSubscriberMs: 3_000,
  accountWindow: 32,
  accountConnections: 4,
  accountBaseDelayMs: 100,
  accountMaxDelayMs: 2_000,
};

/** Where the pacer reads the time and waits: the real clock, or a test's. */
export interface PacingClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** @default Math.random */
  random?(): number;
}

export const realClock: PacingClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

interface ConnectionPace {
  /** Current spacing of posts to the connection; 0 once it is free again. */
  delay: number;
  /** The earliest start of the next turn. */
  nextAt: number;
  /** When the delay last grew: a 429 of a post started by then does not grow it again. */
  grewAt: number;
  /** The first 429 since the last post that succeeded; undefined while posts succeed. */
  stalledSince: number | undefined;
}

/** Entries idle this long are dropped (a closed connection never posts again). */
const FORGET_AFTER_MS = 60_000;
/** The pruning of idle entries runs when the map is bigger than this. */
const PRUNE_ABOVE = 256;

export class Pacer {
  private readonly policy: PacingPolicy;
  private readonly clock: PacingClock;
  private readonly connections = new Map<string, ConnectionPace>();
  /** The last answers: the connection id of a 429, undefined for a success. */
  private readonly answers: (string | undefined)[] = [];
  private accountDelay = 0;
  private accountUntil = 0;
  private accountGrewAt = Number.NEGATIVE_INFINITY;

  constructor(policy: Partial<PacingPolicy> = {}, clock: PacingClock = realClock) {
    this.policy = { ...DEFAULT_PACING, ...policy };
    this.clock = clock;
  }

  /**
   * Waits for the connection's turn and answers when it started; undefined when the connection has
   * been throttled past `slowSubscriberMs` (the caller gives up, nothing is posted).
   */
  async turn(connectionId: string): Promise<number | undefined> {
    const now = this.clock.now();
    let start = Math.max(now, this.accountUntil);
    let pace = this.connections.get(connectionId);
    if (pace !== undefined && pace.nextAt + this.policy.slowSubscriberMs < now) {
      // Not tried for a while (a sender gave up and its close failed, say): start afresh.
      this.connections.delete(connectionId);
      pace = undefined;
    }
    if (pace !== undefined) {
      start = Math.max(start, pace.nextAt);
      if (pace.stalledSince !== undefined && start - pace.stalledSince > this.policy.slowSubscriberMs) return undefined;
      // The next post to this connection waits its turn after this one.
      pace.nextAt = start + pace.delay;
    }
    if (start > now) await this.clock.sleep(start - now);
    return start;
  }

  /** A post (or call) that started at `startedAt` was answered 429. */
  throttled(connectionId: string, startedAt: number): void {
    const now = this.clock.now();
    let pace = this.connections.get(connectionId);
    if (pace === undefined) {
      if (this.connections.size > PRUNE_ABOVE) this.prune(now);
      pace = { delay: 0, nextAt: now, grewAt: Number.NEGATIVE_INFINITY, stalledSince: now };
      this.connections.set(connectionId, pace);
    }
    pace.stalledSince ??= now;
    if (startedAt > pace.grewAt) {
      // Sent under the current delay and still refused: slow down further. Answers of posts that
      // were already on their way when the delay grew do not count again.
      pace.delay = pace.delay === 0 ? this.policy.baseDelayMs : Math.min(this.policy.maxDelayMs, pace.delay * 2);
      pace.grewAt = now;
      pace.nextAt = Math.max(pace.nextAt, now + this.jittered(pace.delay));
    }
    this.answer(connectionId, startedAt, now);
  }

  /** A post to the connection that started at `startedAt` succeeded. */
  posted(connectionId: string, startedAt: number): void {
    const pace = this.connections.get(connectionId);
    if (pace !== undefined) {
      pace.stalledSince = undefined;
      pace.delay = pace.delay / 2 < this.policy.baseDelayMs ? 0 : pace.delay / 2;
      if (pace.delay === 0) this.connections.delete(connectionId);
    }
    if (this.accountDelay > 0 && startedAt >= this.accountUntil) {
      this.accountDelay = this.accountDelay / 2 < this.policy.accountBaseDelayMs ? 0 : this.accountDelay / 2;
    }
    this.answer(undefined, startedAt, this.clock.now());
  }

  /** The connection is gone or closed: its state goes. */
  forget(connectionId: string): void {
    this.connections.delete(connectionId);
  }

  /** The connection's current delay between posts (0: not throttled). For tests and logs. */
  delayOf(connectionId: string): number {
    return this.connections.get(connectionId)?.delay ?? 0;
  }

  /** The current global pause (0: none). For tests and logs. */
  get accountPauseMs(): number {
    return this.accountDelay;
  }

  private answer(throttledConnection: string | undefined, startedAt: number, now: number): void {
    this.answers.push(throttledConnection);
    if (this.answers.length > this.policy.accountWindow) this.answers.shift();
    if (throttledConnection === undefined || startedAt <= this.accountGrewAt || !this.accountWide()) return;
    this.accountDelay =
      this.accountDelay === 0 ? this.policy.accountBaseDelayMs : Math.min(this.policy.accountMaxDelayMs, this.accountDelay * 2);
    this.accountGrewAt = now;
    this.accountUntil = Math.max(this.accountUntil, now + this.jittered(this.accountDelay));
  }

  /** At least half the recent answers were 429s, from enough distinct connections. */
  private accountWide(): boolean {
    const throttled = this.answers.filter((id) => id !== undefined);
    if (throttled.length * 2 < this.policy.accountWindow) return false;
    return new Set(throttled).size >= this.policy.accountConnections;
  }

  /** Equal jitter: between half the delay and the whole of it. */
  private jittered(delay: number): number {
    return Math.floor(delay / 2 + ((this.clock.random ?? Math.random)() * delay) / 2);
  }

  private prune(now: number): void {
    for (const [id, pace] of this.connections) if (pace.nextAt + FORGET_AFTER_MS < now) this.connections.delete(id);
  }
}

/** What one try of a paced call answers: its result, or that it was refused with a 429. */
export const THROTTLED = Symbol('throttled');

/**
 * Runs one post under the pacer: waits for the connection's turn, tries, and after a 429 waits for
 * the next turn and tries again, until the try is answered otherwise (its result is returned) or
 * the connection stayed throttled past the bound (`THROTTLED` is returned, nothing more is tried).
 * `onThrottled` is told of every 429. Errors of `attempt` propagate.
 */
export async function pacedCall<T>(
  pacer: Pacer,
  connectionId: string,
  attempt: () => Promise<T | typeof THROTTLED>,
  onThrottled?: (connectionId: string) => void,
): Promise<T | typeof THROTTLED> {
  for (;;) {
    const startedAt = await pacer.turn(connectionId);
    if (startedAt === undefined) return THROTTLED;
    const result = await attempt();
    if (result !== THROTTLED) {
      pacer.posted(connectionId, startedAt);
      return result;
    }
    onThrottled?.(connectionId);
    pacer.throttled(connectionId, startedAt);
  }
}
