/**
 * A will must not be published after a normal DISCONNECT [MQTT-3.1.2-10] (v5: Reason Code 0x00,
 * [MQTT-3.14.4-3]), even when the connection is found gone before its DISCONNECT frame has left
 * the ordered ingress queue (issue 13, chaos seed 7). The client sends DISCONNECT and drops the
 * socket, as MQTT.js `end()` does; the handling of that frame is held at its first store call
 * (the connection read), so the close is known to the gateway while the frame still waits. Then
 * the connection is found gone:
 * - by the sweeper (its `@connections` GET answers 410; the `$disconnect` was dropped, as AWS
 *   allows);
 * - by a post to the connection that answers 410 (a message routed to its subscription).
 * The frame is released, the queue drains, and a fence message on the will topic shows what the
 * watcher got before it. No timing is asserted: every wait is for an event.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolVersion } from '../../lib/mqtt';
import type { ConnectionRecord, ConnectionStore } from '../../lib/store/ports';
import type { RuntimeDeps } from '../../lib/runtime/types';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { RawClient } from '../helpers/raw-client';
import { clientId, publish, subscribeOne, text, topic } from '../conformance/scenario';

/** Holds the ingress handling of one client's next frame at its connection read. */
class FrameHold {
  private target: string | undefined;
  private release: (() => void) | undefined;
  private entered: ((connectionId: string) => void) | undefined;

  /** Holds the next frame of `id`; resolves with its connection id once the frame is held. */
  arm(id: string): Promise<string> {
    this.target = id;
    return new Promise((resolve) => (this.entered = resolve));
  }

  open(): void {
    this.release?.();
    this.release = undefined;
  }

  wrap(deps: RuntimeDeps): RuntimeDeps {
    const connections = deps.connections;
    const get = async (connectionId: string): Promise<ConnectionRecord | undefined> => {
      const record = await connections.get(connectionId);
      if (this.target !== undefined && record?.clientId === this.target) {
        this.target = undefined;
        const held = new Promise<void>((resolve) => (this.release = resolve));
        this.entered?.(connectionId);
        await held;
      }
      return record;
    };
    const wrapped = new Proxy(connections, {
      get: (target, prop, receiver) => (prop === 'get' ? get : (Reflect.get(target, prop, receiver) as unknown)),
    }) as ConnectionStore;
    return { ...deps, connections: wrapped };
  }
}

const hold = new FrameHold();
let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker({
    // Every `$disconnect` is dropped: only the sweeper or a 410 can find the connection gone.
    gateway: { dropDisconnectRate: 1, random: () => 0 },
    wrapRuntime: (deps) => hold.wrap(deps),
  });
});

afterEach(() => hold.open());

afterAll(async () => {
  RawClient.terminateAll();
  await broker?.dispose();
});

/** Whether `@connections` still knows the connection (the sweeper's proof is a 410). */
async function gatewayKnows(connectionId: string): Promise<boolean> {
  const res = await fetch(`${broker.managementEndpoint}/@connections/${encodeURIComponent(connectionId)}`);
  await res.arrayBuffer();
  return res.status !== 410;
}

/** A watcher subscribed to a fresh will topic, and a device whose will goes there. */
async function watchedDevice(version: ProtocolVersion, name: string) {
  const willTopic = topic(name);
  const watcher = await RawClient.connected(broker.url, version);
  await subscribeOne(watcher, willTopic, 1);
  const id = clientId(name);
  const device = await RawClient.connected(broker.url, version, {
    clientId: id,
    will: { topic: willTopic, payload: Buffer.from('will'), qos: 1, retain: false },
  });
  return { willTopic, watcher, id, device };
}

/**
 * The fence: a message on the will topic published after everything before it, so a will posted
 * earlier arrives first. Answers what the watcher got, the fence included.
 */
async function upToFence(version: ProtocolVersion, watcher: RawClient, willTopic: string): Promise<string[]> {
  const fence = await RawClient.connected(broker.url, version);
  await fence.send(publish(willTopic, 'fence', 1, { packetId: 1 }));
  await fence.next('puback');
  await watcher.next('publish', (p) => text(p) === 'fence');
  await fence.end();
  return watcher.of('publish').map(text);
}

type Finder = 'the sweeper (410 on GET)' | 'a post answered 410';

describe.each([4, 5] as const)('protocol %i: DISCONNECT still queued when the connection is found gone', (version: ProtocolVersion) => {
  it.each<Finder>(['the sweeper (410 on GET)', 'a post answered 410'])(
    'found gone by %s: no will [MQTT-3.1.2-10] [MQTT-3.14.4-3]',
    async (finder) => {
      const { willTopic, watcher, id, device } = await watchedDevice(version, 'leaving');
      // Something routed to the device: a post to it after it is gone answers 410.
      const inbox = topic('inbox');
      await subscribeOne(device, inbox, 0);

      const held = hold.arm(id);
      await device.send({ type: 'disconnect', ...(version === 5 ? { reasonCode: 0 } : {}) });
      const connectionId = await held;
      await device.end();
      await eventually(async () => !(await gatewayKnows(connectionId)));

      if (finder === 'the sweeper (410 on GET)') {
        await broker.sweep();
      } else {
        const publisher = await RawClient.connected(broker.url, version);
        await publisher.send(publish(inbox, 'to a gone connection', 1, { packetId: 1 }));
        await publisher.next('puback');
        await publisher.end();
      }

      hold.open();
      await broker.ingressDrained();
      expect(await upToFence(version, watcher, willTopic)).toEqual(['fence']);
      await watcher.end();
    },
  );

  it('lost without DISCONNECT, found gone by the sweeper: the queued close publishes the will once [MQTT-3.1.2-8]', async () => {
    const { willTopic, watcher, id, device } = await watchedDevice(version, 'lost');
    // A PINGREQ held at its connection read gives the connection id; the socket drops meanwhile.
    const held = hold.arm(id);
    await device.send({ type: 'pingreq' });
    const connectionId = await held;
    await device.end();
    await eventually(async () => !(await gatewayKnows(connectionId)));
    await broker.sweep();
    hold.open();
    await broker.ingressDrained();
    expect(text(await watcher.next('publish'))).toBe('will');
    // A second sweep finds nothing left to close.
    await broker.sweep();
    await broker.ingressDrained();
    expect(await upToFence(version, watcher, willTopic)).toEqual(['will', 'fence']);
    await watcher.end();
  });

  it('a DISCONNECT still queued when the client connects again: the takeover leaves the will to it, and none is published [MQTT-3.1.2-10] [MQTT-3.1.4-3]', async () => {
    const { willTopic, watcher, id, device } = await watchedDevice(version, 'back');
    const held = hold.arm(id);
    await device.send({ type: 'disconnect', ...(version === 5 ? { reasonCode: 0 } : {}) });
    const connectionId = await held;
    await device.end();
    await eventually(async () => !(await gatewayKnows(connectionId)));
    // The client is back on a new connection before its DISCONNECT was handled: the CONNECT waits
    // for the old connection's close (CLOSE_WAIT_MS), then takes the session over.
    const back = await RawClient.connected(broker.url, version, { clientId: id });
    hold.open();
    await broker.ingressDrained();
    expect(await upToFence(version, watcher, willTopic)).toEqual(['fence']);
    await Promise.all([back.end(), watcher.end()]);
  });

  it('lost without DISCONNECT, its last frame still queued when the client connects again: the will is published once [MQTT-3.1.2-8] [MQTT-3.1.4-3]', async () => {
    const { willTopic, watcher, id, device } = await watchedDevice(version, 'back-lost');
    const held = hold.arm(id);
    await device.send({ type: 'pingreq' });
    const connectionId = await held;
    await device.end();
    await eventually(async () => !(await gatewayKnows(connectionId)));
    const back = await RawClient.connected(broker.url, version, { clientId: id });
    hold.open();
    await broker.ingressDrained();
    expect(text(await watcher.next('publish'))).toBe('will');
    expect(await upToFence(version, watcher, willTopic)).toEqual(['will', 'fence']);
    await Promise.all([back.end(), watcher.end()]);
  });
});
