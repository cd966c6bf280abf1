/**
 * 429 LimitExceededException under pacing (lib/gateway/pacing.ts): the real ApiGatewayDelivery
 * with the real SDK client against a local HTTP server answering 429s, and MemoryDelivery's
 * throttles on a test's clock. Waits are on clocks the tests move; nothing here is timed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiGatewayDelivery } from '../../../lib/gateway/delivery';
import { managementClient, resetManagementClients } from '../../../lib/gateway/management-client';
import { MemoryDelivery } from '../../../lib/gateway/memory-delivery';
import { DEFAULT_PACING, type PacingClock } from '../../../lib/gateway/pacing';
import { packetOfSize } from './delivery-contract';
import { startConnectionsServer, type Answer, type ConnectionsServer, type ReceivedRequest } from './connections-server';
import { manualClock, virtualClock, type ManualClock } from './virtual-clock';

const LOCAL = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };

let server: ConnectionsServer | undefined;

afterEach(async () => {
  resetManagementClients();
  await server?.close();
  server = undefined;
});

async function overHttp(answer: (request: ReceivedRequest) => Answer, clock: PacingClock) {
  server = await startConnectionsServer(answer);
  const throttles: string[] = [];
  const client = managementClient(server.endpoint, LOCAL);
  const delivery = new ApiGatewayDelivery({ client, clock, onThrottled: (id) => void throttles.push(id) });
  return { server, delivery, throttles };
}

/** Answers 429 to the first `n` POSTs of each connection, then 200. */
function firstPostsThrottled(n: number): (request: ReceivedRequest) => Answer {
  const seen = new Map<string, number>();
  return ({ connectionId }) => {
    const count = (seen.get(connectionId) ?? 0) + 1;
    seen.set(connectionId, count);
    return count <= n ? 429 : 200;
  };
}

/** Moves a manual clock until `done` settles (each step lets the HTTP round trips finish). */
async function runClock<T>(clock: ManualClock, done: Promise<T>): Promise<T> {
  let settled = false;
  void done.finally(() => (settled = true));
  while (!settled) {
    clock.advance(50);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return done;
}

/** Resolves once `clock` has `count` sleepers parked. */
async function parked(clock: ManualClock, count: number): Promise<void> {
  while (clock.parked < count) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('ApiGatewayDelivery over HTTP: 429 LimitExceededException', () => {
  it('backs off and retries until the post goes through; every 429 is told (DeliveryThrottled)', async () => {
    const clock = virtualClock();
    const { server, delivery, throttles } = await overHttp(firstPostsThrottled(3), clock);
    expect(await delivery.send('conn-1', packetOfSize(20), 'text')).toEqual({ status: 'sent', posted: 1 });
    expect(server.requests).toHaveLength(4);
    expect(throttles).toEqual(['conn-1', 'conn-1', 'conn-1']);
    expect(clock.sleeps).toEqual([75, 150, 300]); // doubling from 100 ms, equal jitter
  });

  it('stays throttled: gives up within the slow-subscriber bound, nothing posted', async () => {
    const clock = virtualClock();
    const { server, delivery, throttles } = await overHttp(() => 429, clock);
    expect(await delivery.send('conn-1', packetOfSize(20), 'text')).toEqual({ status: 'throttled', posted: 0 });
    expect(throttles).toHaveLength(server.requests.length);
    expect(clock.now()).toBeLessThanOrEqual(DEFAULT_PACING.slowSubscriberMs);
  });

  it('a later post to a throttled connection waits its turn behind the retry', async () => {
    const clock = manualClock();
    const { server, delivery } = await overHttp(firstPostsThrottled(1), clock);
    const first = delivery.send('conn-1', packetOfSize(20, 1), 'text');
    await parked(clock, 1); // 429, then waiting to retry
    const second = delivery.send('conn-1', packetOfSize(30, 2), 'text');
    await parked(clock, 2); // waiting its turn: not posted while the connection is throttled
    expect(server.requests).toHaveLength(1);
    expect(await runClock(clock, Promise.all([first, second]))).toEqual([
      { status: 'sent', posted: 1 },
      { status: 'sent', posted: 1 },
    ]);
    const bodies = server.requests.map((r) => Buffer.from(r.body, 'base64').length);
    expect(bodies).toEqual([20, 20, 30]);
  });

  it('many connections throttled at once pause posts to every connection (account-wide)', async () => {
    const clock = manualClock();
    const ids = Array.from({ length: 16 }, (_, i) => `conn-${i}`);
    const { server, delivery } = await overHttp(firstPostsThrottled(1), clock);
    const sends = ids.map((id) => delivery.send(id, packetOfSize(20), 'text'));
    await parked(clock, 16); // 16 answers of 16 connections, all 429
    expect(delivery.pacer.accountPauseMs).toBeGreaterThan(0);
    const fresh = delivery.send('never-throttled', packetOfSize(20), 'text');
    await parked(clock, 17);
    expect(server.requests.filter((r) => r.connectionId === 'never-throttled')).toEqual([]);
    const outcomes = await runClock(clock, Promise.all([...sends, fresh]));
    expect(outcomes.every((o) => o.status === 'sent')).toBe(true);
  });
});

describe('MemoryDelivery throttling on the test clock', () => {
  it('429 for the next N tries: paced retries, then delivered', async () => {
    const clock = virtualClock();
    const told: string[] = [];
    const delivery = new MemoryDelivery({ clock, onThrottled: (id) => void told.push(id) });
    delivery.open('a');
    delivery.simulateThrottle('a', { posts: 2 });
    expect(await delivery.send('a', packetOfSize(5), 'text')).toEqual({ status: 'sent', posted: 1 });
    expect(delivery.throttles.map((t) => t.at)).toEqual([0, 75]);
    expect(told).toEqual(['a', 'a']);
    expect(delivery.posts).toHaveLength(1);
  });

  it('429 for a time window: delivered once the window has passed, within the bound', async () => {
    const clock = virtualClock();
    const delivery = new MemoryDelivery({ clock });
    delivery.open('a');
    delivery.simulateThrottle('a', { until: 1_000 });
    expect(await delivery.send('a', packetOfSize(5), 'text')).toEqual({ status: 'sent', posted: 1 });
    expect(clock.now()).toBeGreaterThanOrEqual(1_000);
    expect(delivery.throttles.every((t) => t.at < 1_000)).toBe(true);
  });

  it('429 past the bound: throttled, with the posts before it delivered whole', async () => {
    const clock = virtualClock();
    const delivery = new MemoryDelivery({ clock });
    delivery.open('a');
    delivery.simulateThrottle('a', { until: 10_000 });
    expect(await delivery.send('a', packetOfSize(5), 'text')).toEqual({ status: 'throttled', posted: 0 });
    expect(clock.now()).toBeLessThanOrEqual(DEFAULT_PACING.slowSubscriberMs);
    expect(delivery.posts).toEqual([]);
  });

  it('an account-wide throttle pauses every connection, then all are delivered', async () => {
    const clock = virtualClock();
    const delivery = new MemoryDelivery({ clock });
    const ids = Array.from({ length: 16 }, (_, i) => `c${i}`);
    for (const id of ids) delivery.open(id);
    delivery.simulateAccountThrottle(500);
    const outcomes = await Promise.all(ids.map((id) => delivery.send(id, packetOfSize(5), 'text')));
    expect(outcomes.every((o) => o.status === 'sent')).toBe(true);
    expect(delivery.posts).toHaveLength(16);
    expect(delivery.throttles.length).toBeGreaterThanOrEqual(16);
  });

  it('simulated timeouts: whole packets throw DeliveryTimeoutError, posted or not', async () => {
    const delivery = new MemoryDelivery({ clock: virtualClock() });
    delivery.open('a');
    delivery.simulateTimeout('a', { applied: true }, { applied: false });
    await expect(delivery.send('a', packetOfSize(5, 1), 'text')).rejects.toMatchObject({ name: 'DeliveryTimeoutError', posted: 0 });
    await expect(delivery.send('a', packetOfSize(5, 2), 'text')).rejects.toMatchObject({ name: 'DeliveryTimeoutError' });
    expect(delivery.posts).toHaveLength(1); // the first was applied, its answer lost
  });
});
