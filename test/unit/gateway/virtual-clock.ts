/**
 * A clock for the pacer (lib/gateway/pacing.ts) that tests move: `sleep` records the wait and
 * moves the time forward instead of taking it, so pacing and its bounds are checked without
 * timed assertions. Concurrent sleepers wake at the latest of their ends, never before their own.
 */
import type { PacingClock } from '../../../lib/gateway/pacing';

export interface VirtualClock extends PacingClock {
  /** Every wait asked for, in order. */
  readonly sleeps: number[];
  advance(ms: number): void;
}

export function virtualClock(start = 0, random = 0.5): VirtualClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    random: () => random,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
      const until = now + ms;
      await Promise.resolve();
      if (now < until) now = until;
    },
  };
}

export interface ManualClock extends PacingClock {
  /** Sleepers waiting for the clock to move. */
  readonly parked: number;
  /** Moves the time forward and wakes every sleeper whose end it passed. */
  advance(ms: number): void;
}

/** A clock that stands still until the test moves it: sleepers stay parked until then. */
export function manualClock(start = 0, random = 0.5): ManualClock {
  let now = start;
  let sleepers: { until: number; wake: () => void }[] = [];
  return {
    get parked() {
      return sleepers.length;
    },
    now: () => now,
    random: () => random,
    sleep: (ms) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
    advance: (ms) => {
      now += ms;
      const due = sleepers.filter((s) => s.until <= now);
      sleepers = sleepers.filter((s) => s.until > now);
      for (const s of due) s.wake();
    },
  };
}
