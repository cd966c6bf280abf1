/** lib/retry.ts, the one retry helper, and the BatchWriteItem loop built on it. */
import type { DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { retryUntilDone, withRetry, type RetryPolicy } from '../../lib/retry';
import { MeteredDynamoDb } from '../../lib/store/dynamodb/metered';

function recorded(attempts: number): { policy: RetryPolicy; sleeps: number[] } {
  const sleeps: number[] = [];
  const policy: RetryPolicy = {
    attempts,
    baseDelayMs: 100,
    maxDelayMs: 350,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.999,
  };
  return { policy, sleeps };
}

class Throttled extends Error {}

describe('withRetry', () => {
  it('retries a retryable error with capped exponential waits, then rethrows the last one', async () => {
    const { policy, sleeps } = recorded(4);
    let calls = 0;
    const failing = async (): Promise<never> => {
      calls += 1;
      throw new Throttled(`try ${calls}`);
    };
    await expect(withRetry(policy, (e) => e instanceof Throttled, failing)).rejects.toThrow('try 4');
    expect(calls).toBe(4);
    // Full jitter: random() * min(maxDelayMs, baseDelayMs * 2^n), floored.
    expect(sleeps).toEqual([99, 199, 349]);
  });

  it('does not retry an error that is not retryable', async () => {
    const { policy, sleeps } = recorded(4);
    let calls = 0;
    const failing = async (): Promise<never> => {
      calls += 1;
      throw new Error('bad request');
    };
    await expect(withRetry(policy, (e) => e instanceof Throttled, failing)).rejects.toThrow('bad request');
    expect([calls, sleeps]).toEqual([1, []]);
  });

  it('returns the first success', async () => {
    const { policy } = recorded(3);
    let calls = 0;
    const flaky = async (): Promise<string> => {
      calls += 1;
      if (calls < 2) throw new Throttled();
      return 'ok';
    };
    await expect(withRetry(policy, (e) => e instanceof Throttled, flaky)).resolves.toBe('ok');
    expect(calls).toBe(2);
  });
});

describe('retryUntilDone', () => {
  it('tries until the work is done, waiting between tries', async () => {
    const { policy, sleeps } = recorded(5);
    let calls = 0;
    await expect(retryUntilDone(policy, async () => ++calls === 3)).resolves.toBe(true);
    expect([calls, sleeps]).toEqual([3, [99, 199]]);
  });

  it('gives up after the last attempt, without a wait after it', async () => {
    const { policy, sleeps } = recorded(3);
    let calls = 0;
    await expect(retryUntilDone(policy, async () => (calls++, false))).resolves.toBe(false);
    expect([calls, sleeps]).toEqual([3, [99, 199]]);
  });
});

describe('MeteredDynamoDb.batchWriteAll', () => {
  const request = (k: string): WriteRequest => ({ DeleteRequest: { Key: { k: { S: k } } } });

  function db(unprocessed: (sent: WriteRequest[]) => WriteRequest[]) {
    const batches: WriteRequest[][] = [];
    const client = {
      send: async (command: { input: { RequestItems: Record<string, WriteRequest[]> } }) => {
        const items = command.input.RequestItems.t;
        batches.push(items);
        return { UnprocessedItems: { t: unprocessed(items) } };
      },
    } as unknown as DynamoDBClient;
    return { db: new MeteredDynamoDb(client), batches };
  }

  it('resends only the unprocessed requests, in batches of 25', async () => {
    let first = true;
    const { db: metered, batches } = db((items) => {
      if (!first) return [];
      first = false;
      return items.slice(0, 2);
    });
    const requests = Array.from({ length: 30 }, (_, i) => request(`k${i}`));
    await expect(metered.batchWriteAll('t', requests, 3)).resolves.toBe(true);
    expect(batches.map((b) => b.length)).toEqual([25, 2, 5]);
  });

  it('answers false when requests are still unprocessed after the last attempt', async () => {
    const { db: metered, batches } = db((items) => items);
    await expect(metered.batchWriteAll('t', [request('a')], 3)).resolves.toBe(false);
    expect(batches).toHaveLength(3);
  });
});
