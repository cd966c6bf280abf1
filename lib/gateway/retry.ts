/**
 * Bounded exponential backoff with full jitter, for 429 LimitExceededException from
 * `@connections`. Attempt n (from 0) waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)).
 */

export interface RetryPolicy {
  /** Total tries, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 50, maxDelayMs: 1_000 };

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `operation`, retrying while `retryable(error)` and attempts remain; rethrows the last error. */
export async function withRetry<T>(
  policy: RetryPolicy,
  retryable: (error: unknown) => boolean,
  operation: () => Promise<T>,
): Promise<T> {
  const sleep = policy.sleep ?? defaultSleep;
  const random = policy.random ?? Math.random;
  const attempts = Math.max(1, Math.floor(policy.attempts));
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(Math.floor(random() * ceiling));
    }
  }
}
