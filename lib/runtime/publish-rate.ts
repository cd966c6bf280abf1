/**
 * The per-client publish rate limit (docs/ARCHITECTURE.md "Per-client limits"): a token bucket per
 * connection, kept in the memory of the container that handles the connection's packets. Nothing
 * is read or written in DynamoDB, so the check costs no request (docs/COST.md).
 *
 * Each PUBLISH a client sends takes one token; the bucket holds at most `burst` tokens and gains
 * `perSecond` tokens a second. A PUBLISH that finds less than one token is over the limit. Time is
 * the frame's arrival at the gateway (`requestTimeEpoch`), not the container's clock: a backlog
 * handled late (a queue that drains after a slow batch) is measured at the pace it was sent.
 *
 * The bound: AWS may hand a connection's frames to several containers in turn (ordered ingress
 * handles one batch of a connection at a time, but not always in the same container), and each
 * container has its own bucket. A client whose batches went to k containers may publish up to k
 * times the limit. A flooding client is over the limit in every container it reaches, and is
 * still closed at once.
 *
 * The map of buckets is bounded. A bucket idle long enough to have refilled is the same as no
 * bucket, so it is dropped as soon as it is the oldest; past `capacity` the least recently used
 * bucket is dropped even if not full: that connection starts again with a full bucket (the limit
 * errs on the lenient side, never the strict one).
 */

/** The limit: tokens per second, and the most a connection may save up. */
export interface PublishRate {
  /** PUBLISH packets per second per connection, sustained; 0 turns the limit off. */
  readonly perSecond: number;
  /** PUBLISH packets a connection may send at once, after being quiet; at least 1. */
  readonly burst: number;
}

/** The default on AWS and in local mode: 100 PUBLISH packets a second, bursts of 200. */
export const DEFAULT_PUBLISH_RATE: PublishRate = { perSecond: 100, burst: 200 };

/** Buckets a container keeps at most (about 100 bytes each). */
export const TRACKED_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  /** Arrival time the tokens were last counted at, epoch ms. */
  at: number;
  /** The limit closed this connection: its later frames are dropped unread. */
  closed?: boolean;
}

export class PublishRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  /** How long an emptied bucket takes to refill, ms: an idle bucket older than this is full. */
  private readonly refillMs: number;
  /** The latest arrival time seen: the container's view of now. */
  private latest = 0;

  constructor(
    readonly rate: PublishRate,
    private readonly capacity: number = TRACKED_BUCKETS,
  ) {
    if (!(Number.isFinite(rate.perSecond) && rate.perSecond >= 0)) throw new RangeError('perSecond must be a finite number >= 0');
    if (!(Number.isFinite(rate.burst) && rate.burst >= 1)) throw new RangeError('burst must be at least 1');
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be at least 1');
    this.perMs = rate.perSecond / 1000;
    this.refillMs = this.perMs > 0 ? rate.burst / this.perMs : Infinity;
  }

  /** False when the limit is off (`perSecond` 0): every PUBLISH is admitted and nothing is kept. */
  get enabled(): boolean {
    return this.perMs > 0;
  }

  /**
   * Takes a token for one PUBLISH of `connectionId` that arrived at `epochMs`: true if it is within
   * the limit. A refused PUBLISH takes nothing.
   */
  admit(connectionId: string, epochMs: number): boolean {
    if (!this.enabled) return true;
    const bucket = this.refilled(connectionId, epochMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /**
   * Whether a PUBLISH arriving at `epochMs` would be admitted, without taking a token: lets the
   * runtime skip work (a route lookup) for a PUBLISH that will be refused.
   */
  wouldAdmit(connectionId: string, epochMs: number): boolean {
    if (!this.enabled) return true;
    const bucket = this.buckets.get(connectionId);
    return bucket === undefined || tokensAt(bucket, epochMs, this.perMs, this.rate.burst) >= 1;
  }

  /**
   * Gives back tokens taken by a frame that failed and will be handled again (the retry takes
   * them again): a retried frame is not counted twice.
   */
  refund(connectionId: string, tokens: number): void {
    const bucket = this.buckets.get(connectionId);
    if (bucket !== undefined) bucket.tokens = Math.min(this.rate.burst, bucket.tokens + tokens);
  }

  /**
   * The limit closed the connection: its frames still on their way (sent before the close, handled
   * after it) are dropped by this container without being read or answered, instead of each
   * being refused again (another post, another close, another count).
   */
  closed(connectionId: string): void {
    const bucket = this.buckets.get(connectionId);
    if (bucket !== undefined) bucket.closed = true;
  }

  /** Whether the limit closed the connection (in this container, and it was not forgotten since). */
  isClosed(connectionId: string): boolean {
    return this.buckets.get(connectionId)?.closed === true;
  }

  /** The connection closed: nothing more will come from it. */
  forget(connectionId: string): void {
    this.buckets.delete(connectionId);
  }

  /** Buckets kept now. */
  get size(): number {
    return this.buckets.size;
  }

  /** The connection's bucket, refilled to `epochMs` and moved to the most recently used end. */
  private refilled(connectionId: string, epochMs: number): Bucket {
    if (epochMs > this.latest) this.latest = epochMs;
    const known = this.buckets.get(connectionId);
    const bucket = known ?? { tokens: this.rate.burst, at: epochMs };
    if (known !== undefined) {
      bucket.tokens = tokensAt(bucket, epochMs, this.perMs, this.rate.burst);
      // Arrival times of one connection may go back a little (frames reordered before the queue,
      // direct invocations): tokens are counted from the latest time seen, never twice.
      bucket.at = Math.max(bucket.at, epochMs);
      this.buckets.delete(connectionId);
    }
    this.evict();
    // A Map iterates in insertion order: the first key is the least recently used.
    this.buckets.set(connectionId, bucket);
    return bucket;
  }

  /** Drops the oldest buckets while they are full by now, and makes room for one more. */
  private evict(): void {
    for (const [id, bucket] of this.buckets) {
      const idle = this.latest - bucket.at >= this.refillMs;
      if (!idle && this.buckets.size < this.capacity) return;
      this.buckets.delete(id);
    }
  }
}

/** The bucket's tokens at `epochMs` (no refill for an earlier time). */
function tokensAt(bucket: Bucket, epochMs: number, perMs: number, burst: number): number {
  const elapsed = epochMs - bucket.at;
  return elapsed > 0 ? Math.min(burst, bucket.tokens + elapsed * perMs) : bucket.tokens;
}
