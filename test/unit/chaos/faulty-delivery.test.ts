/**
 * FaultyDelivery (test/helpers/faulty-delivery.ts) over a recording `@connections` client: what
 * each kind sends on, what it throws (the SDK's shapes, as the delivery adapter classifies them),
 * bursts, fragments, and the seeded random mode.
 */
import { DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { describe, expect, it } from 'vitest';
import { classifyFailure, type ManagementClient } from '../../../lib/gateway/delivery';
import { FaultyDelivery } from '../../helpers/faulty-delivery';

function recording(): { client: ManagementClient; sent: string[] } {
  const sent: string[] = [];
  const client = {
    send: async (command: unknown) => {
      const name = (command as object).constructor.name.replace(/Command$/, '');
      sent.push(`${name} ${(command as { input: { ConnectionId: string } }).input.ConnectionId}`);
      return {};
    },
  } as ManagementClient;
  return { client, sent };
}

const post = (id: string, data = 'AAAA') => new PostToConnectionCommand({ ConnectionId: id, Data: data });

describe('FaultyDelivery', () => {
  it('gone: deletes the connection, then posts (the gateway answers 410)', async () => {
    const { client, sent } = recording();
    const faulty = new FaultyDelivery().inject({ kind: 'gone' });
    await faulty.wrap(client).send(post('c1') as never);
    expect(sent).toEqual(['DeleteConnection c1', 'PostToConnection c1']);
    expect(faulty.counts().gone).toBe(1);
  });

  it('throttle: LimitExceededException (429) for a burst of posts to that connection only', async () => {
    const { client, sent } = recording();
    const wrapped = new FaultyDelivery().inject({ kind: 'throttle', burst: 3 }).wrap(client);
    const outcomes: string[] = [];
    for (const id of ['c1', 'c2', 'c1', 'c1', 'c1']) {
      outcomes.push(await wrapped.send(post(id) as never).then(() => 'ok', (e: unknown) => classifyFailure(e)));
    }
    expect(outcomes).toEqual(['throttled', 'ok', 'throttled', 'throttled', 'ok']);
    expect(sent).toEqual(['PostToConnection c2', 'PostToConnection c1']);
  });

  it('timeouts: applied then a TimeoutError, or a TimeoutError and nothing posted', async () => {
    const { client, sent } = recording();
    const wrapped = new FaultyDelivery().inject({ kind: 'timeout-after' }).inject({ kind: 'timeout-before' }).wrap(client);
    await expect(wrapped.send(post('c1') as never)).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(wrapped.send(post('c1') as never)).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sent).toEqual(['PostToConnection c1']);
  });

  it('partial: only a later fragment of a packet fails; other commands pass through', async () => {
    const { client, sent } = recording();
    const wrapped = new FaultyDelivery().inject({ kind: 'partial', times: 5 }).wrap(client);
    await wrapped.send(post('c1', 'abc.0.2:AAAA') as never);
    await expect(wrapped.send(post('c1', 'abc.1.2:AAAA') as never)).rejects.toMatchObject({ name: 'TimeoutError' });
    await wrapped.send(post('c1', 'AAAA') as never);
    await wrapped.send(new GetConnectionCommand({ ConnectionId: 'c1' }) as never);
    await wrapped.send(new DeleteConnectionCommand({ ConnectionId: 'c1' }) as never);
    expect(sent).toEqual(['PostToConnection c1', 'PostToConnection c1', 'GetConnection c1', 'DeleteConnection c1']);
  });

  it('random mode: the same seed draws the same faults', async () => {
    const run = async () => {
      const { client } = recording();
      const faulty = new FaultyDelivery().randomly({ seed: 42, rates: { 'timeout-before': 0.2, throttle: 0.1 } });
      const wrapped = faulty.wrap(client);
      for (let i = 0; i < 200; i++) await wrapped.send(post(`c${i % 7}`) as never).catch(() => undefined);
      return faulty.injected.map((f) => `${f.kind} ${f.connectionId}`);
    };
    const first = await run();
    expect(first.length).toBeGreaterThan(20);
    expect(await run()).toEqual(first);
  });
});
