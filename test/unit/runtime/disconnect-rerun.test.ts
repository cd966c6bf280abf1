/**
 * The disconnect path run again after a step failed (issue 13, defect 3), and a CONNECT that fails
 * after its claim (issue 13, gap 10), on the memory runtime. A step is made to fail once by
 * wrapping the store method or dependency it calls; the test then runs what AWS would run again
 * (the sweeper, or the client's next CONNECT).
 */
import { describe, expect, it } from 'vitest';
import { createDecoder, decode, encode, type ProtocolVersion, type Will } from '../../../lib/mqtt';
import { receiveFrame, type Frame } from '../../../lib/runtime/message';
import { createOutbox } from '../../../lib/runtime/outbox';
import { runDisconnectPath } from '../../../lib/runtime/disconnect-path';
import { sweep } from '../../../lib/runtime/sweeper';
import { DUE_WILL_LEASE_MS, HELD_WILL_LEASE_MS } from '../../../lib/store/session-reruns';
import type { RuntimeDeps } from '../../../lib/runtime/types';
import { connectPacket, memoryRuntime, persistentSession, publishPacket, text, type MemoryRuntime, type TestConnection } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];
const WILL: Will = { topic: 'status/press-7', payload: text('offline'), qos: 1, retain: false };

/** Makes `object[method]` throw on its next call only. */
function failOnce<T extends object, K extends keyof T>(object: T, method: K): void {
  const original = object[method] as (...args: unknown[]) => Promise<unknown>;
  let failed = false;
  (object as Record<K, unknown>)[method] = async (...args: unknown[]) => {
    if (!failed) {
      failed = true;
      throw new Error(`injected: ${String(method)} failed`);
    }
    return original.apply(object, args);
  };
}

/** A watcher of the will topic and a persistent client with a will and a subscription of its own. */
async function setup(rt: MemoryRuntime, version: ProtocolVersion) {
  const watcher = await rt.connected(version, { clientId: 'dashboard' });
  await watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'status/#', qos: 0 }] });
  watcher.take();
  const press = await rt.connected(version, { clientId: 'press-7', will: WILL, ...persistentSession(version) });
  await press.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'orders/press-7', qos: 1 }] });
  press.take();
  return { watcher, press };
}

const wills = (watcher: TestConnection) => watcher.take().filter((p) => p.type === 'publish' && p.topic === WILL.topic);

describe.each(VERSIONS)('disconnect path run again after a step failed, protocol %i', (version) => {
  it.each([
    ['closing the gate', (deps: RuntimeDeps) => failOnce(deps.messages, 'closeGate')],
    ['detaching the routes', (deps: RuntimeDeps) => failOnce(deps.subscriptions, 'attach')],
    ['publishing the will', (deps: RuntimeDeps) => failOnce(deps, 'publishWill')],
  ])('[MQTT-3.1.2-8] a failure in %s after release: the rerun publishes the will once, detaches the routes, removes the record', async (_step, inject) => {
    const rt = memoryRuntime();
    const { watcher, press } = await setup(rt, version);
    inject(rt.deps);
    await press.close(); // abnormal close: the path fails after release
    expect(await rt.stores.connections.get(press.id)).toBeDefined();
    await sweep(rt.deps); // @connections answers 410, but the first run may still be publishing
    expect(wills(watcher)).toEqual([]);
    rt.advance(HELD_WILL_LEASE_MS);
    await sweep(rt.deps); // the first run is taken for dead: this one finishes it
    expect(await rt.stores.connections.get(press.id)).toBeUndefined();
    expect(wills(watcher)).toHaveLength(1);
    const routes = await rt.stores.subscriptions.listByClient('press-7');
    expect(routes.map((r) => r.connection?.connectionId)).toEqual([undefined]);
    await runDisconnectPath(rt.deps, press.id, 'gone', { ...(await lastRecord(rt, press.id)) });
    expect(wills(watcher)).toEqual([]);
  });

  it('[MQTT-3.1.2-8] two runs at once ($disconnect beside a delivery that found the connection gone) publish the will once', async () => {
    const rt = memoryRuntime();
    const { watcher, press } = await setup(rt, version);
    await Promise.all([press.close(), runDisconnectPath(rt.deps, press.id, 'gone')]);
    expect(wills(watcher)).toHaveLength(1);
    expect(await rt.stores.connections.get(press.id)).toBeUndefined();
  });

  it('[MQTT-3.1.2-8] a failure after the will was published and settled does not publish it again', async () => {
    const rt = memoryRuntime();
    const { watcher, press } = await setup(rt, version);
    failOnce(rt.stores.connections, 'remove');
    await press.close();
    await sweep(rt.deps);
    expect(wills(watcher)).toHaveLength(1);
    expect(await rt.stores.connections.get(press.id)).toBeUndefined();
  });

  it('[MQTT-3.1.2-8] a transient failure settling the will after it was published does not publish it again (the settle is retried in place)', async () => {
    const rt = memoryRuntime();
    const { watcher, press } = await setup(rt, version);
    failOnce(rt.stores.sessions, 'settleWill');
    await press.close();
    rt.advance(HELD_WILL_LEASE_MS);
    await sweep(rt.deps); // what would rerun a path left unfinished
    expect(wills(watcher)).toHaveLength(1);
    expect(await rt.stores.connections.get(press.id)).toBeUndefined();
  });

  it('[MQTT-3.1.3-9] a rerun after a newer connection resumed the session publishes the held will and leaves the new routes alone', async () => {
    const rt = memoryRuntime();
    const { watcher, press } = await setup(rt, version);
    failOnce(rt.deps.messages, 'closeGate');
    await press.close();
    const again = await rt.connected(version, { clientId: 'press-7', ...persistentSession(version) });
    expect(again.take()).toEqual([]);
    rt.advance(HELD_WILL_LEASE_MS);
    await sweep(rt.deps);
    expect(wills(watcher)).toHaveLength(1);
    const routes = await rt.stores.subscriptions.listByClient('press-7');
    expect(routes.map((r) => r.connection?.connectionId)).toEqual([again.id]);
    await again.send(publishPacket('orders/press-7', 'go', 1, { packetId: 9 }));
    expect(again.take().some((p) => p.type === 'publish' && p.topic === 'orders/press-7')).toBe(true);
  });
});

// The Will Delay Interval exists only in MQTT 5.0: a 3.1.1 will is published at the close.
describe('a sweeper that died after taking a delayed will, protocol 5', () => {
  it('[MQTT-3.1.3-9] the next sweep after the lease publishes the will, once', async () => {
    const rt = memoryRuntime();
    const watcher = await rt.connected(5, { clientId: 'dashboard' });
    await watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'status/#', qos: 0 }] });
    watcher.take();
    const will = { ...WILL, properties: { willDelayInterval: 5 } };
    const press = await rt.connected(5, { clientId: 'press-7', will, ...persistentSession(5) });
    await press.close();
    rt.advance(5_000);
    failOnce(rt.deps, 'publishWill');
    await sweep(rt.deps);
    await sweep(rt.deps);
    expect(wills(watcher)).toEqual([]);
    rt.advance(DUE_WILL_LEASE_MS);
    await sweep(rt.deps);
    expect(wills(watcher)).toHaveLength(1);
    rt.advance(DUE_WILL_LEASE_MS);
    await sweep(rt.deps);
    expect(wills(watcher)).toEqual([]);
  });
});

describe.each(VERSIONS)('a CONNECT that fails after its claim (gap 10), protocol %i', (version) => {
  it('[MQTT-3.2.2-3] leaves the session resumable: the next CONNECT gets Session Present 1 and the stored subscriptions; the failed CONNECT\'s will is not published', async () => {
    const rt = memoryRuntime();
    const { watcher, press } = await setup(rt, version);
    await press.send({ type: 'disconnect', ...(version === 5 ? { reasonCode: 0 } : {}) });
    await press.close(1000);
    const { sessionEpoch } = (await rt.stores.sessions.get('press-7')) ?? {};
    failOnce(rt.stores.connections, 'markConnected');
    const failed = await rt.open(version);
    const expiryZero = version === 5 ? { properties: { sessionExpiryInterval: 0 } } : {};
    const answer = await failed.connect({ clientId: 'press-7', clean: false, will: WILL, ...expiryZero });
    expect(answer.some((p) => p.type === 'connack' && p.reasonCode === 0)).toBe(false);
    const left = await rt.stores.sessions.get('press-7');
    expect(left?.connectionId).toBeUndefined();
    expect(left?.sessionEpoch).toBe(sessionEpoch);
    await failed.close();
    const next = await rt.open(version);
    const connack = (await next.connect({ clientId: 'press-7', ...persistentSession(version) }))[0];
    expect(connack).toMatchObject({ type: 'connack', reasonCode: 0, sessionPresent: true });
    expect(wills(watcher)).toEqual([]);
    const publisher = await rt.connected(version, { clientId: 'erp' });
    await publisher.send(publishPacket('orders/press-7', 'go', 1, { packetId: 3 }));
    expect(next.take().some((p) => p.type === 'publish' && p.topic === 'orders/press-7')).toBe(true);
  });

  it('[MQTT-3.1.4-3] the will of the connection it took over is published, once, even though the CONNECT failed before publishing it', async () => {
    const rt = memoryRuntime();
    const { watcher } = await setup(rt, version);
    failOnce(rt.deps, 'publishWill');
    const failed = await rt.open(version);
    await failed.connect({ clientId: 'press-7', ...persistentSession(version) });
    expect(wills(watcher)).toEqual([]);
    await failed.close();
    await sweep(rt.deps);
    expect(wills(watcher)).toHaveLength(1);
    const next = await rt.open(version);
    expect((await next.connect({ clientId: 'press-7', ...persistentSession(version) }))[0]).toMatchObject({ sessionPresent: true });
    expect(wills(watcher)).toEqual([]);
  });
});

async function lastRecord(rt: MemoryRuntime, connectionId: string) {
  return { connectionId, mode: 'text' as const, connectedAt: rt.now(), expiresAt: Math.floor(rt.now() / 1000) + 60, status: 'mqtt' as const, clientId: 'press-7', hasWill: true };
}

describe.each(VERSIONS)('the rerun of a CONNECT frame that failed after its claim (ordered ingress), protocol %i', (version) => {
  /** Handles the frame as ordered ingress does: a failure throws, and the queue hands the frame over again. */
  const receive = async (rt: MemoryRuntime, frame: Frame) => {
    const outbox = createOutbox('text');
    await receiveFrame(rt.deps, frame, outbox, 'throw');
    return decode(createDecoder({ protocolVersion: version }), new Uint8Array(Buffer.concat(outbox.chunks))).packets;
  };
  const frameOf = (rt: MemoryRuntime, connectionId: string, fields: object): Frame => ({
    connectionId,
    requestTimeEpoch: rt.now(),
    body: Buffer.from(encode(connectPacket(version, { clientId: 'press-7', ...fields }), version)).toString('base64'),
    isBase64Encoded: false,
  });

  it('[MQTT-3.2.2-3] answers a new session with Session Present 0 on the rerun', async () => {
    const rt = memoryRuntime();
    const connection = await rt.open(version);
    const frame = frameOf(rt, connection.id, persistentSession(version));
    failOnce(rt.stores.connections, 'markConnected');
    await expect(receive(rt, frame)).rejects.toThrow('injected');
    expect(await receive(rt, frame)).toEqual([expect.objectContaining({ type: 'connack', reasonCode: 0, sessionPresent: false })]);
  });

  it('[MQTT-3.2.2-3] answers a resumed session with Session Present 1 on the rerun', async () => {
    const rt = memoryRuntime();
    const first = await rt.connected(version, { clientId: 'press-7', ...persistentSession(version) });
    await first.close();
    const connection = await rt.open(version);
    const frame = frameOf(rt, connection.id, persistentSession(version));
    failOnce(rt.stores.connections, 'markConnected');
    await expect(receive(rt, frame)).rejects.toThrow('injected');
    expect(await receive(rt, frame)).toEqual([expect.objectContaining({ type: 'connack', reasonCode: 0, sessionPresent: true })]);
  });
});
