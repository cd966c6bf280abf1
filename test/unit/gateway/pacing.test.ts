/** lib/gateway/pacing.ts: per-connection backoff and turns, the slow-subscriber bound, the account-wide pause. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PACING, Pacer, THROTTLED, pacedCall } from '../../../lib/gateway/pacing';
import { virtualClock } from './virtual-clock';

/** A pacer on a virtual clock with random 0.5: each wait after a 429 is 3/4 of the delay. */
function setup(policy = {}) {
  const clock = virtualClock(1_000);
  return { clock, pacer: new Pacer(policy, clock) };
}

describe('Pacer: one connection', () => {
  it('a connection never throttled posts at once', async () => {
    const { clock, pacer } = setup();
    expect(await pacer.turn('a')).toBe(1_000);
    pacer.posted('a', 1_000);
    expect(await pacer.turn('a')).toBe(1_000);
    expect(clock.sleeps).toEqual([]);
  });

  it('backs off after each 429: the delay doubles from 100 ms up to 1 s, the wait is jittered', async () => {
    const { clock, pacer } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = (await pacer.turn('a')) as number;
      pacer.throttled('a', started);
      delays.push(pacer.delayOf('a'));
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    // Equal jitter with random 0.5: 3/4 of each delay before the next try, but never less than
    // the spacing the previous turn reserved (800 at the cap).
    expect(clock.sleeps).toEqual([75, 150, 300, 600, 800]);
  });

  it('each success halves the delay, and below 100 ms the connection is free again', async () => {
    const { pacer } = setup();
    for (let i = 0; i < 3; i++) pacer.throttled('a', (await pacer.turn('a')) as number);
    expect(pacer.delayOf('a')).toBe(400);
    for (const expected of [200, 100, 0]) {
      pacer.posted('a', (await pacer.turn('a')) as number);
      expect(pacer.delayOf('a')).toBe(expected);
    }
  });

  it('later posts to a throttled connection wait their turn, one delay apart', async () => {
    const { pacer } = setup();
    pacer.throttled('a', (await pacer.turn('a')) as number); // at 1000: delay 100, next turn at 1075
    const starts = await Promise.all([pacer.turn('a'), pacer.turn('a'), pacer.turn('a')]);
    expect(starts).toEqual([1_075, 1_175, 1_275]);
  });

  it('429s of posts already on their way when the delay grew count once', async () => {
    const { pacer } = setup();
    const [first, second, third] = (await Promise.all([pacer.turn('a'), pacer.turn('a'), pacer.turn('a')])) as number[];
    pacer.throttled('a', first as number);
    pacer.throttled('a', second as number);
    pacer.throttled('a', third as number);
    expect(pacer.delayOf('a')).toBe(100);
  });

  it('other connections are not slowed by one slow subscriber', async () => {
    const { clock, pacer } = setup();
    for (let i = 0; i < 20; i++) pacer.throttled('slow', (await pacer.turn('slow')) as number);
    const sleeps = clock.sleeps.length;
    const now = clock.now();
    expect(await pacer.turn('fast')).toBe(now);
    expect(clock.sleeps).toHaveLength(sleeps);
    expect(pacer.accountPauseMs).toBe(0);
  });
});

describe('Pacer: the slow-subscriber bound', () => {
  it('refuses the turn that would start more than slowSubscriberMs after the first 429', async () => {
    const { clock, pacer } = setup();
    let started: number | undefined;
    let tries = 0;
    while ((started = await pacer.turn('a')) !== undefined) {
      tries += 1;
      pacer.throttled('a', started);
    }
    // Tries at 0, 75, 225, 525, 1125, 1925, 2925 ms of stall; the next would start at 3925.
    expect(tries).toBe(7);
    expect(clock.now() - 1_000).toBe(2_925);
    expect(clock.now() - 1_000).toBeLessThanOrEqual(DEFAULT_PACING.slowSubscriberMs);
  });

  it('a post that succeeds ends the stall: the bound counts again from the next 429', async () => {
    const { clock, pacer } = setup({ slowSubscriberMs: 500 });
    for (let i = 0; i < 3; i++) pacer.throttled('a', (await pacer.turn('a')) as number); // 75 + 150 waited
    pacer.posted('a', (await pacer.turn('a')) as number); // after 300 more: 525 ms since the first 429
    clock.advance(1_000);
    pacer.throttled('a', (await pacer.turn('a')) as number);
    expect(await pacer.turn('a')).not.toBeUndefined();
  });

  it('pacedCall gives up with THROTTLED, having told every 429', async () => {
    const { pacer } = setup();
    const told: string[] = [];
    let tries = 0;
    const answer = await pacedCall(pacer, 'a', async () => (tries++, THROTTLED), (id) => told.push(id));
    expect(answer).toBe(THROTTLED);
    expect(told).toHaveLength(tries);
    expect(tries).toBe(7);
  });

  it('pacedCall returns the first answer that is not a 429', async () => {
    const { pacer } = setup();
    let tries = 0;
    expect(await pacedCall(pacer, 'a', async () => (++tries < 3 ? THROTTLED : 'posted'))).toBe('posted');
    expect(pacer.delayOf('a')).toBe(100); // 200 halved by the success
  });
});

describe('Pacer: account-wide throttle', () => {
  /** One round of posts to `ids` at once, each answered 429. */
  async function throttledRound(pacer: Pacer, ids: string[]): Promise<void> {
    const starts = await Promise.all(ids.map((id) => pacer.turn(id)));
    ids.forEach((id, i) => pacer.throttled(id, starts[i] as number));
  }

  it('many connections throttled at once pause every post, to any connection', async () => {
    const { clock, pacer } = setup();
    const ids = Array.from({ length: 16 }, (_, i) => `c${i}`);
    await throttledRound(pacer, ids); // 16 of the last 32 answers are 429s, from 16 connections
    expect(pacer.accountPauseMs).toBe(100);
    const now = clock.now();
    expect(await pacer.turn('never-throttled')).toBe(now + 75);
  });

  it('the pause grows while the throttle goes on and shrinks as posts succeed', async () => {
    const { pacer } = setup();
    const ids = Array.from({ length: 16 }, (_, i) => `c${i}`);
    await throttledRound(pacer, ids);
    await throttledRound(pacer, ids);
    expect(pacer.accountPauseMs).toBe(200);
    for (let i = 0; i < 32; i++) {
      const id = `ok${i}`;
      pacer.posted(id, (await pacer.turn(id)) as number);
    }
    expect(pacer.accountPauseMs).toBe(0);
  });

  it('a few throttled connections among many healthy ones do not pause the account', async () => {
    const { pacer } = setup();
    for (let i = 0; i < 64; i++) {
      const id = i % 4 === 0 ? `slow${i % 3}` : `ok${i}`;
      const started = (await pacer.turn(id)) as number;
      if (id.startsWith('slow')) pacer.throttled(id, started);
      else pacer.posted(id, started);
    }
    expect(pacer.accountPauseMs).toBe(0);
  });
});
