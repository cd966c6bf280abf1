import { afterEach, describe, expect, it } from 'vitest';
import { ApiGatewayDelivery } from '../../../lib/gateway/delivery';
import { DeliveryError, ForbiddenError, PayloadTooLargeError, ThrottledError } from '../../../lib/gateway/errors';
import { managementClient, resetManagementClients } from '../../../lib/gateway/management-client';
import { MemoryDelivery } from '../../../lib/gateway/memory-delivery';
import type { RetryPolicy } from '../../../lib/retry';
import { describeDeliveryContract, packetOfSize } from './delivery-contract';
import { decodeServerMessages } from '../../../lib/client/reassembly';
import { FakeManagementApi } from './fake-management-api';
import { FRAGMENT_PAYLOAD_BYTES } from '../../../lib/api-gateway';
import { DEFAULT_PACING } from '../../../lib/gateway/pacing';
import { virtualClock } from './virtual-clock';

const sleeps: number[] = [];
/** DELETE and GET retries, waits recorded (posts are paced on a virtual clock instead). */
const instantRetry: RetryPolicy = {
  attempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 150,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
  random: () => 0.999,
};

let nextId = 0;
const newId = (): string => Buffer.from(`conn-${(nextId += 1)}`).toString('base64');

describeDeliveryContract('memory', async () => {
  const goneIds: string[] = [];
  const delivery = new MemoryDelivery({ onGone: (id) => void goneIds.push(id) });
  return {
    delivery,
    goneIds,
    open: async () => {
      const id = newId();
      delivery.open(id);
      return id;
    },
    received: async (id) => delivery.received(id),
    kill: async (id) => delivery.simulateGone(id),
    dispose: async () => {},
  };
});

describeDeliveryContract('API Gateway over a fake @connections', async () => {
  const goneIds: string[] = [];
  const api = new FakeManagementApi();
  const client = api.client();
  const delivery = new ApiGatewayDelivery({ client, onGone: (id) => void goneIds.push(id), retry: instantRetry, clock: virtualClock() });
  return {
    delivery,
    goneIds,
    open: async () => {
      const id = `${newId()}/+`; // ids with characters the SDK must escape in the path
      api.connections.set(id, { chunks: [], connectedAt: new Date() });
      return id;
    },
    received: async (id) => decodeServerMessages(api.connections.get(id)!.chunks.map((c) => c.toString())),
    kill: async (id) => void api.connections.delete(id),
    dispose: async () => client.destroy(),
  };
});

describe('ApiGatewayDelivery outcomes', () => {
  function setup() {
    const api = new FakeManagementApi();
    const client = api.client();
    const goneIds: string[] = [];
    const throttles: string[] = [];
    const clock = virtualClock();
    const delivery = new ApiGatewayDelivery({
      client,
      onGone: (id) => void goneIds.push(id),
      onThrottled: (id) => void throttles.push(id),
      retry: instantRetry,
      clock,
    });
    const id = newId();
    api.connections.set(id, { chunks: [], connectedAt: new Date() });
    return { api, client, delivery, goneIds, throttles, clock, id };
  }

  const always429 = (): number[] => Array.from({ length: 100 }, () => 429);

  afterEach(() => {
    sleeps.length = 0;
  });

  it('retries a 429 after a paced, jittered wait and then delivers; every 429 is told', async () => {
    const { api, client, delivery, throttles, clock, id } = setup();
    try {
      api.scripted.set(id, [429, 429]);
      expect(await delivery.send(id, packetOfSize(3), 'text')).toEqual({ status: 'sent', posted: 1 });
      expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
      expect(clock.sleeps).toEqual([75, 150]); // 3/4 of 100 and 200 ms (lib/gateway/pacing.ts)
      expect(throttles).toEqual([id, id]);
    } finally {
      client.destroy();
    }
  });

  it('gives up once the connection stayed throttled past the bound, counting what went out', async () => {
    const { api, client, delivery, goneIds, throttles, clock, id } = setup();
    try {
      api.scripted.set(id, [200, ...always429()]);
      const start = clock.now();
      const outcome = await delivery.send(id, packetOfSize(FRAGMENT_PAYLOAD_BYTES + 100), 'text');
      expect(outcome).toEqual({ status: 'throttled', posted: 1 });
      expect(api.requests).toHaveLength(1 + throttles.length);
      expect(throttles.length).toBeGreaterThan(3);
      expect(clock.now() - start).toBeLessThanOrEqual(DEFAULT_PACING.slowSubscriberMs);
      expect(goneIds).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it('throttled midway: the posted messages hold whole packets, the rest is not delivered', async () => {
    const { api, client, delivery, id } = setup();
    try {
      const packets = [packetOfSize(20_000, 1), packetOfSize(20_000, 2), packetOfSize(60_000, 3)];
      api.scripted.set(id, [200, 200, 200, ...always429()]);
      const outcome = await delivery.send(id, new Uint8Array(Buffer.concat(packets)), 'text');
      expect(outcome).toEqual({ status: 'throttled', posted: 3 }); // two whole packets, one fragment
      const received = decodeServerMessages(api.connections.get(id)!.chunks.map((c) => c.toString()));
      expect(Buffer.from(received).equals(Buffer.concat(packets.slice(0, 2)))).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('stops at the first gone fragment', async () => {
    const { api, client, delivery, goneIds, id } = setup();
    try {
      api.scripted.set(id, [200, 410]);
      expect(await delivery.send(id, packetOfSize(3 * FRAGMENT_PAYLOAD_BYTES), 'text')).toEqual({ status: 'gone', posted: 1 });
      expect(api.requests).toHaveLength(2);
      expect(goneIds).toEqual([id]);
    } finally {
      client.destroy();
    }
  });

  it.each([
    [413, PayloadTooLargeError],
    [403, ForbiddenError],
    [500, DeliveryError],
  ])('turns %i into a typed error with the SDK exception as cause', async (status, errorClass) => {
    const { api, client, delivery, id } = setup();
    try {
      api.scripted.set(id, [status]);
      const error = await delivery.send(id, packetOfSize(3), 'text').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errorClass);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).connectionId).toBe(id);
      expect((error as Error).cause).toBeInstanceOf(Error);
    } finally {
      client.destroy();
    }
  });

  it('throws ThrottledError when info stays throttled', async () => {
    const { api, client, delivery, id } = setup();
    try {
      api.scripted.set(id, [429, 429, 429]);
      await expect(delivery.info(id)).rejects.toBeInstanceOf(ThrottledError);
    } finally {
      client.destroy();
    }
  });

  it('posts raw bytes for binary-mode connections', async () => {
    const { api, client, delivery, id } = setup();
    try {
      const data = packetOfSize(7);
      await delivery.send(id, data, 'binary');
      expect(new Uint8Array(api.connections.get(id)!.chunks[0]!)).toEqual(data);
    } finally {
      client.destroy();
    }
  });
});

describe('MemoryDelivery simulation', () => {
  it('records posts and simulates throttles', async () => {
    const clock = virtualClock();
    const delivery = new MemoryDelivery({ clock });
    delivery.open('a');
    delivery.simulateThrottle('a');
    expect((await delivery.send('a', packetOfSize(2), 'text')).status).toBe('throttled');
    delivery.simulateThrottle('a', 0);
    clock.advance(2 * DEFAULT_PACING.slowSubscriberMs); // the given-up stall is forgotten
    expect((await delivery.send('a', packetOfSize(2), 'binary')).status).toBe('sent');
    expect(delivery.posts).toEqual([{ connectionId: 'a', mode: 'binary', message: packetOfSize(2) }]);
    await delivery.close('a');
    expect(delivery.closed).toEqual(['a']);
    expect(delivery.isOpen('a')).toBe(false);
  });
});

describe('management client factory', () => {
  afterEach(() => resetManagementClients());

  it('creates one client per endpoint and caches it; a trailing slash names the same endpoint', () => {
    const a = managementClient('https://a.example/mqtt', { region: 'eu-west-1' });
    expect(managementClient('https://a.example/mqtt')).toBe(a);
    expect(managementClient('https://a.example/mqtt/')).toBe(a);
    expect(managementClient('https://b.example/mqtt', { region: 'eu-west-1' })).not.toBe(a);
  });
});
