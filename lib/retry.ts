/**
 * The one retry helper of lib/: bounded exponential backoff with full jitter. After failed attempt
 * n (from 0) it waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)) before the next.
 * Node only (it sleeps with `node:timers/promises`); the device client (lib/client) retries
 * nothing itself, MQTT.js reconnects.
 *
 * Users: 429 LimitExceededException of a `@connections` DELETE or GET (lib/gateway/delivery.ts;
 * posts are paced instead, lib/gateway/pacing.ts), the unprocessed requests of a BatchWriteItem
 * (lib/store/dynamodb/metered.ts), which the SDK reports as a success and so never retries, and a
 * single-item write refused with TransactionConflictException (metered.ts), which the SDK does not
 * retry. A failing SDK call is retried by the SDK itself (its `maxAttempts`), not here.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Total tries, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** @default the `node:timers/promises` setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Runs `operation`, retrying while `retryable(error)` and attempts remain; rethrows the last error. */
export async function withRetry<T>(
  policy: RetryPolicy,
  retryable: (error: unknown) => boolean,
  operation: () => Promise<T>,
): Promise<T> {
  const attempts = attemptsOf(policy);
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error)) throw error;
      await backoff(policy, attempt);
    }
  }
}

/**
 * Runs `attempt` until it reports the work done (true) or attempts run out, waiting between tries
 * as withRetry does. Resolves to whether the work got done; errors are not retried.
 */
export async function retryUntilDone(policy: RetryPolicy, attempt: () => Promise<boolean>): Promise<boolean> {
  const attempts = attemptsOf(policy);
  for (let n = 0; ; n += 1) {
    if (await attempt()) return true;
    if (n + 1 >= attempts) return false;
    await backoff(policy, n);
  }
}

function attemptsOf(policy: RetryPolicy): number {
  return Math.max(1, Math.floor(policy.attempts));
}

/** The full-jitter wait after failed attempt `n`. */
function backoff(policy: RetryPolicy, n: number): Promise<void> {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
  const ms = Math.floor((policy.random ?? Math.random)() * ceiling);
  return (policy.sleep ?? defaultSleep)(ms);
}

const defaultSleep = async (ms: number): Promise<void> => {
  await sleep(ms);
};
