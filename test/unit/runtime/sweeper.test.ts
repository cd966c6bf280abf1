/**
 * The sweeper on the in-memory adapters, with a clock the test moves: it runs the disconnect path
 * for connections whose `$disconnect` never arrived, and closes silent ones.
 */
import { describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../../lib/broker';
import { MemoryDelivery } from '../../../lib/gateway/memory-delivery';
import { noCredentialStore } from '../../../lib/runtime/auth';
import type { RuntimeDeps } from '../../../lib/runtime/types';
import { silentLogger } from '../../../lib/log';
import { createMetrics } from '../../../lib/runtime/metrics';
import { sweep } from '../../../lib/runtime/sweeper';
import { MemoryConnectionStore, MemoryMessageStore, MemoryRetainedStore, MemorySessionStore, MemorySubscriptionStore } from '../../../lib/store/memory';
import type { Will } from '../../../lib/mqtt';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

function setup() {
  let now = T0;
  const clock = () => now;
  const connections = new MemoryConnectionStore({ clock });
  const delivery = new MemoryDelivery();
  const sessions = new MemorySessionStore({ clock });
  const published: { will: Will; clientId: string }[] = [];
  const metricLines: string[] = [];
  const deps: RuntimeDeps = {
    connections,
    scan: connections,
    sessions,
    subscriptions: new MemorySubscriptionStore({ clock, sessions }),
    retained: new MemoryRetainedStore({ clock }),
    messages: new MemoryMessageStore({ clock }),
    maxQueued: 100,
    maxReceives: 5,
    publishWill: async (will, clientId) => {
      published.push({ will, clientId });
    },
    delivery,
    broker: parseBrokerConfig({ allowAnonymous: true }),
    authenticate: noCredentialStore(true),
    allowBinary: false,
    log: silentLogger,
    metrics: createMetrics((line) => metricLines.push(line)),
    now: clock,
  };
  const open = async (connectionId: string, keepAlive?: number) => {
    await connections.open({ connectionId, mode: 'text', connectedAt: now, expiresAt: Math.floor(now / 1000) + 7800 });
    if (keepAlive !== undefined) {
      await connections.markConnected(connectionId, {
        clientId: `client-${connectionId}`, protocolVersion: 5, keepAlive, cleanStart: true, mqttConnectedAt: now,
      });
    }
    delivery.open(connectionId, { connectedAt: new Date(now), lastActiveAt: new Date(now) });
  };
  /** Flushes the metrics as the Lambda handler does after a sweep, and sums one metric's values. */
  const counted = (name: string): number => {
    deps.metrics.flush();
    return metricLines.map((line) => JSON.parse(line) as Record<string, unknown>).reduce((sum, m) => sum + Number(m[name] ?? 0), 0);
  };
  return { deps, connections, sessions, published, delivery, open, counted, advance: (ms: number) => (now += ms) };
}

describe('sweeper', () => {
  it('runs the disconnect path for a connection @connections reports gone (410): $disconnect was lost', async () => {
    const { deps, connections, delivery, open } = setup();
    await open('alive', 60);
    await open('lost', 60);
    delivery.simulateGone('lost');
    const report = await sweep(deps);
    expect(report.closed.gone).toBe(1);
    expect(await connections.get('lost')).toBeUndefined();
    expect(await connections.get('alive')).toBeDefined();
  });

  it('closes a connection silent for more than 1.5 x its Keep Alive [MQTT-3.1.2-22] (3.1.1: [MQTT-3.1.2-24])', async () => {
    const { deps, connections, delivery, open, advance } = setup();
    await open('quiet', 60);
    advance(89_000);
    expect((await sweep(deps)).closed['keep-alive-expired']).toBe(0);
    advance(2_000);
    const report = await sweep(deps);
    expect(report.closed['keep-alive-expired']).toBe(1);
    expect(delivery.closed).toEqual(['quiet']);
    expect(await connections.get('quiet')).toBeUndefined();
  });

  it('leaves a connection with Keep Alive 0 alone however long it is silent', async () => {
    const { deps, connections, open, advance } = setup();
    await open('no-keepalive', 0);
    advance(3_600_000);
    await sweep(deps);
    expect(await connections.get('no-keepalive')).toBeDefined();
  });

  it('closes a WebSocket that never sent CONNECT', async () => {
    const { deps, delivery, open, advance } = setup();
    await open('silent');
    advance(121_000);
    expect((await sweep(deps)).closed['connect-timeout']).toBe(1);
    expect(delivery.closed).toEqual(['silent']);
  });

  it('reads every page', async () => {
    const { deps, delivery, open } = setup();
    for (let i = 0; i < 25; i++) {
      await open(`c${i}`, 60);
      delivery.simulateGone(`c${i}`);
    }
    const report = await sweep(deps, { pageSize: 10 });
    expect(report.checked).toBe(25);
    expect(report.closed.gone).toBe(25);
  });

  it('publishes a delayed will once its Will Delay Interval has passed, exactly once [MQTT-3.1.3-9]', async () => {
    const { deps, sessions, published, open, advance } = setup();
    await open('c-will', 60);
    const will: Will = { topic: 'plant/press-7/status', payload: new TextEncoder().encode('offline'), qos: 1, retain: true, properties: { willDelayInterval: 30 } };
    await sessions.claim({ clientId: 'client-c-will', connectionId: 'c-will', cleanStart: true, protocolVersion: 5, sessionExpiryInterval: 3600, requestTimeEpoch: T0, will });
    // The connection vanished without $disconnect; the sweeper finds it gone and defers the will.
    await deps.delivery.close('c-will');
    await sweep(deps);
    expect(published).toEqual([]);
    advance(31_000);
    expect((await sweep(deps)).willsPublished).toBe(1);
    expect(published).toEqual([{ will, clientId: 'client-c-will' }]);
    expect((await sweep(deps)).willsPublished).toBe(0);
  });

  it('publishes a will without delay as soon as the lost connection is found', async () => {
    const { deps, sessions, published, open } = setup();
    await open('c-now', 60);
    const will: Will = { topic: 'plant/press-8/status', payload: new TextEncoder().encode('offline'), qos: 0, retain: false };
    await sessions.claim({ clientId: 'client-c-now', connectionId: 'c-now', cleanStart: true, protocolVersion: 4, sessionExpiryInterval: 0, requestTimeEpoch: T0, will });
    await deps.delivery.close('c-now');
    await sweep(deps);
    expect(published).toEqual([{ will, clientId: 'client-c-now' }]);
  });

  it('goes on past a connection whose check fails', async () => {
    const { deps, connections, delivery, open } = setup();
    await open('broken', 60);
    await open('lost', 60);
    delivery.simulateGone('lost');
    const info = delivery.info.bind(delivery);
    delivery.info = async (id) => {
      if (id === 'broken') throw new Error('GET failed');
      return info(id);
    };
    const report = await sweep(deps);
    expect(report.closed.gone).toBe(1);
    expect(await connections.get('lost')).toBeUndefined();
  });

  it('keeps the connection record when releasing the session fails, so a retry finishes the job', async () => {
    const { deps, connections, sessions, delivery, open } = setup();
    await open('flaky', 60);
    await sessions.claim({ clientId: 'client-flaky', connectionId: 'flaky', cleanStart: true, protocolVersion: 5, sessionExpiryInterval: 60, requestTimeEpoch: T0 });
    delivery.simulateGone('flaky');
    const release = sessions.release.bind(sessions);
    let fail = true;
    sessions.release = async (request) => {
      if (fail) {
        fail = false;
        throw new Error('DynamoDB unavailable');
      }
      return release(request);
    };
    await sweep(deps);
    expect(await connections.get('flaky')).toBeDefined();
    await sweep(deps);
    expect(await connections.get('flaky')).toBeUndefined();
    expect((await sessions.get('client-flaky'))?.connectionId).toBeUndefined();
  });

  describe('SweepIncomplete: a sweep that stops before it finished', () => {
    it('is not counted for a sweep that read every page', async () => {
      const { deps, open, counted } = setup();
      for (let i = 0; i < 15; i++) await open(`c${i}`, 60);
      const report = await sweep(deps, { pageSize: 10 });
      expect(report.partial).toBe(false);
      expect(counted('SweepIncomplete')).toBe(0);
    });

    it('is counted once when the time budget runs out before the last page', async () => {
      const { deps, delivery, open, counted, advance } = setup();
      for (let i = 0; i < 25; i++) await open(`c${i}`, 60);
      // Each @connections GET takes the clock forward: the first page uses up the budget.
      const info = delivery.info.bind(delivery);
      delivery.info = async (id) => {
        advance(100);
        return info(id);
      };
      const report = await sweep(deps, { pageSize: 10, budgetMs: 500 });
      expect(report.partial).toBe(true);
      expect(report.checked).toBe(10);
      expect(counted('SweepIncomplete')).toBe(1);
    });

    it('is counted when the scan fails and ends the sweep (the error still fails the invocation)', async () => {
      const { deps, connections, open, counted } = setup();
      for (let i = 0; i < 15; i++) await open(`c${i}`, 60);
      const page = connections.page.bind(connections);
      connections.page = async (cursor, limit) => {
        if (cursor !== undefined) throw new Error('DynamoDB unavailable');
        return page(cursor, limit);
      };
      await expect(sweep(deps, { pageSize: 10 })).rejects.toThrow();
      expect(counted('SweepIncomplete')).toBe(1);
    });

    it('is counted when the due-will index cannot be read', async () => {
      const { deps, sessions, open, counted } = setup();
      await open('c0', 60);
      sessions.dueWills = async () => {
        throw new Error('DynamoDB unavailable');
      };
      await expect(sweep(deps)).rejects.toThrow();
      expect(counted('SweepIncomplete')).toBe(1);
    });

    it('is not counted when one connection\'s check fails: the sweep goes on past it', async () => {
      const { deps, delivery, open, counted } = setup();
      await open('broken', 60);
      await open('fine', 60);
      const info = delivery.info.bind(delivery);
      delivery.info = async (id) => {
        if (id === 'broken') throw new Error('GET failed');
        return info(id);
      };
      expect((await sweep(deps)).partial).toBe(false);
      expect(counted('SweepIncomplete')).toBe(0);
    });
  });
});
