/**
 * The per-client publish rate limit's token bucket (lib/runtime/publish-rate.ts) on its own, with
 * arrival times chosen by the test, and its configuration from the environment
 * (lib/runtime/config.ts). The behaviour through the runtime is in message-rate-limit.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadConfig } from '../../../lib/runtime/config';
import { DEFAULT_PUBLISH_RATE, PublishRateLimiter } from '../../../lib/runtime/publish-rate';
import { tableEnvVar, TABLE_IDS } from '../../../lib/store/schema';

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);

/** How many of `n` PUBLISH packets arriving together at `at` are admitted. */
function admitted(limiter: PublishRateLimiter, connectionId: string, at: number, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (limiter.admit(connectionId, at)) count++;
  return count;
}

describe('PublishRateLimiter: burst and refill', () => {
  it('admits a burst of `burst` PUBLISH packets at once, and refuses the next', () => {
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 200 });
    expect(admitted(limiter, 'a', T0, 200)).toBe(200);
    expect(limiter.admit('a', T0)).toBe(false);
  });

  it('refills `perSecond` tokens a second, pro rata, measured on the arrival times', () => {
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 200 });
    expect(admitted(limiter, 'a', T0, 201)).toBe(200);
    // 10 ms at 100 a second: one token.
    expect(admitted(limiter, 'a', T0 + 10, 5)).toBe(1);
    // A second later: 100 more.
    expect(admitted(limiter, 'a', T0 + 1010, 150)).toBe(100);
  });

  it('sustains exactly the rate: one PUBLISH every 10 ms at 100 a second is never refused', () => {
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 1 });
    for (let i = 0; i < 1000; i++) expect(limiter.admit('a', T0 + i * 10)).toBe(true);
    expect(limiter.admit('a', T0 + 9990 + 5)).toBe(false);
  });

  it('never saves up more than the burst, however long the connection was quiet', () => {
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 200 });
    expect(admitted(limiter, 'a', T0, 1)).toBe(1);
    expect(admitted(limiter, 'a', T0 + 3_600_000, 1000)).toBe(200);
  });

  it('a refused PUBLISH takes no token', () => {
    const limiter = new PublishRateLimiter({ perSecond: 1, burst: 1 });
    expect(limiter.admit('a', T0)).toBe(true);
    expect(admitted(limiter, 'a', T0 + 500, 10)).toBe(0);
    expect(limiter.admit('a', T0 + 1000)).toBe(true);
  });

  it('an arrival time earlier than one already seen refills nothing and counts nothing twice', () => {
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 2 });
    expect(admitted(limiter, 'a', T0 + 1000, 2)).toBe(2);
    // A frame stamped earlier, handled later (reordered before the queue): no tokens from the past.
    expect(limiter.admit('a', T0)).toBe(false);
    // The next token comes 10 ms after the latest arrival, not after the earlier one.
    expect(limiter.admit('a', T0 + 1005)).toBe(false);
    expect(limiter.admit('a', T0 + 1010)).toBe(true);
  });

  it('keeps one bucket per connection', () => {
    const limiter = new PublishRateLimiter({ perSecond: 1, burst: 3 });
    expect(admitted(limiter, 'a', T0, 5)).toBe(3);
    expect(admitted(limiter, 'b', T0, 5)).toBe(3);
  });

  it('wouldAdmit answers without taking a token', () => {
    const limiter = new PublishRateLimiter({ perSecond: 1, burst: 1 });
    expect(limiter.wouldAdmit('a', T0)).toBe(true);
    expect(limiter.wouldAdmit('a', T0)).toBe(true);
    expect(limiter.admit('a', T0)).toBe(true);
    expect(limiter.wouldAdmit('a', T0 + 999)).toBe(false);
    expect(limiter.wouldAdmit('a', T0 + 1000)).toBe(true);
  });

  it('refund gives back the tokens of a frame handled again, never above the burst', () => {
    const limiter = new PublishRateLimiter({ perSecond: 1, burst: 3 });
    expect(admitted(limiter, 'a', T0, 3)).toBe(3);
    limiter.refund('a', 2);
    expect(admitted(limiter, 'a', T0, 5)).toBe(2);
    limiter.refund('a', 10);
    expect(admitted(limiter, 'a', T0, 5)).toBe(3);
  });

  it('a rate of 0 turns the limit off: everything is admitted and nothing is kept', () => {
    const limiter = new PublishRateLimiter({ perSecond: 0, burst: 1 });
    expect(limiter.enabled).toBe(false);
    expect(admitted(limiter, 'a', T0, 10_000)).toBe(10_000);
    expect(limiter.size).toBe(0);
  });

  it('refuses a burst below 1, a negative or infinite rate, and a capacity below 1', () => {
    expect(() => new PublishRateLimiter({ perSecond: 1, burst: 0 })).toThrow(RangeError);
    expect(() => new PublishRateLimiter({ perSecond: -1, burst: 1 })).toThrow(RangeError);
    expect(() => new PublishRateLimiter({ perSecond: Infinity, burst: 1 })).toThrow(RangeError);
    expect(() => new PublishRateLimiter({ perSecond: 1, burst: 1 }, 0)).toThrow(RangeError);
  });
});

describe('PublishRateLimiter: eviction', () => {
  it('drops the bucket of a connection idle long enough to have refilled: it would start full anyway', () => {
    // burst 200 at 100 a second: an emptied bucket is full again after 2 s.
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 200 });
    expect(admitted(limiter, 'idle', T0, 200)).toBe(200);
    expect(admitted(limiter, 'busy', T0 + 1000, 1)).toBe(1);
    expect(limiter.size).toBe(2);
    // 'idle' has been quiet for 2 s by the latest arrival: its bucket goes.
    expect(admitted(limiter, 'busy', T0 + 2000, 1)).toBe(1);
    expect(limiter.size).toBe(1);
    // And it is no stricter than keeping it: a full bucket.
    expect(admitted(limiter, 'idle', T0 + 2000, 300)).toBe(200);
  });

  it('keeps a bucket that has not refilled yet', () => {
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 200 });
    expect(admitted(limiter, 'a', T0, 200)).toBe(200);
    expect(admitted(limiter, 'b', T0 + 1999, 1)).toBe(1);
    expect(limiter.size).toBe(2);
    expect(admitted(limiter, 'a', T0 + 1999, 300)).toBe(199);
  });

  it('holds at most `capacity` buckets, dropping the least recently used first', () => {
    const limiter = new PublishRateLimiter({ perSecond: 1, burst: 1 }, 2);
    expect(limiter.admit('a', T0)).toBe(true);
    expect(limiter.admit('b', T0)).toBe(true);
    // 'a' used again: 'b' is now the least recently used.
    expect(limiter.admit('a', T0)).toBe(false);
    expect(limiter.admit('c', T0)).toBe(true);
    expect(limiter.size).toBe(2);
    // 'b' was dropped: it starts again with a full bucket (lenient, never stricter).
    expect(limiter.admit('b', T0)).toBe(true);
    expect(limiter.admit('c', T0)).toBe(false);
  });

  it('remembers a connection the limit closed, until it is forgotten', () => {
    const limiter = new PublishRateLimiter({ perSecond: 1, burst: 1 });
    expect(limiter.admit('a', T0)).toBe(true);
    expect(limiter.admit('a', T0)).toBe(false);
    expect(limiter.isClosed('a')).toBe(false);
    limiter.closed('a');
    expect(limiter.isClosed('a')).toBe(true);
    expect(limiter.isClosed('b')).toBe(false);
    limiter.forget('a');
    expect(limiter.isClosed('a')).toBe(false);
  });

  it('forget drops a closed connection at once', () => {
    const limiter = new PublishRateLimiter({ perSecond: 1, burst: 1 });
    expect(limiter.admit('a', T0)).toBe(true);
    limiter.forget('a');
    expect(limiter.size).toBe(0);
  });

  it('stays bounded under many connections, each sending once', () => {
    const limiter = new PublishRateLimiter({ perSecond: 100, burst: 200 }, 1000);
    for (let i = 0; i < 50_000; i++) limiter.admit(`c${i}`, T0 + i);
    expect(limiter.size).toBeLessThanOrEqual(1000);
  });
});

describe('publish rate configuration (lib/runtime/config.ts)', () => {
  const env: Record<string, string> = {
    ...Object.fromEntries(TABLE_IDS.map((id) => [tableEnvVar(id), `t-${id}`])),
    STRATUS_MANAGEMENT_ENDPOINT: 'https://abc123.execute-api.eu-west-1.amazonaws.com/mqtt',
  };

  it('defaults to 100 PUBLISH a second per client, bursts of 200', () => {
    expect(DEFAULT_PUBLISH_RATE).toEqual({ perSecond: 100, burst: 200 });
    expect(loadConfig(env).publishRate).toEqual(DEFAULT_PUBLISH_RATE);
  });

  it('reads STRATUS_PUBLISH_RATE_PER_SECOND (decimals allowed, 0 = off) and STRATUS_PUBLISH_RATE_BURST', () => {
    expect(loadConfig({ ...env, STRATUS_PUBLISH_RATE_PER_SECOND: '5', STRATUS_PUBLISH_RATE_BURST: '20' }).publishRate).toEqual({ perSecond: 5, burst: 20 });
    expect(loadConfig({ ...env, STRATUS_PUBLISH_RATE_PER_SECOND: '0.5' }).publishRate).toEqual({ perSecond: 0.5, burst: 200 });
    expect(loadConfig({ ...env, STRATUS_PUBLISH_RATE_PER_SECOND: '0' }).publishRate.perSecond).toBe(0);
  });

  it.each([
    ['STRATUS_PUBLISH_RATE_PER_SECOND', '-1'],
    ['STRATUS_PUBLISH_RATE_PER_SECOND', 'fast'],
    // An empty value is not 0: it would turn the limit off by accident.
    ['STRATUS_PUBLISH_RATE_PER_SECOND', ''],
    ['STRATUS_PUBLISH_RATE_PER_SECOND', '2000000'],
    ['STRATUS_PUBLISH_RATE_BURST', '0'],
    ['STRATUS_PUBLISH_RATE_BURST', '1.5'],
    ['STRATUS_PUBLISH_RATE_BURST', ''],
  ])('fails the cold start naming %s when it is %j', (name, value) => {
    expect(() => loadConfig({ ...env, [name]: value })).toThrow(ConfigurationError);
    expect(() => loadConfig({ ...env, [name]: value })).toThrow(new RegExp(name));
  });
});
