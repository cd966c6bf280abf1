/**
 * The fuzzers' seeded randomness: xorshift32 (small, fast, deterministic), so one seed replays one
 * run exactly. `rng` is the raw generator; `Prng` adds the few draws the fuzzers need.
 */

/** xorshift32: a generator of 32-bit unsigned integers; seed 0 is taken as 1. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export class Prng {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = rng(seed);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}
