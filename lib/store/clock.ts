/** Time as the stores see it. Injected so tests can move it; epoch milliseconds. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Epoch seconds, the unit of the TTL attribute `expiresAt`. */
export function epochSeconds(epochMs: number): number {
  return Math.floor(epochMs / 1000);
}

/**
 * True once an item's `expiresAt` (epoch seconds) has passed. TTL deletes such items only
 * eventually (typically within 48 hours), so every read filters with this.
 */
export function isExpired(expiresAt: number, nowMs: number): boolean {
  return expiresAt <= epochSeconds(nowMs);
}
