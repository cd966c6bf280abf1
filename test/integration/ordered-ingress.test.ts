/**
 * Ordered ingress end to end (issue 12): MQTT.js through the Stratus transport against local strict
 * mode, where each connection's frames and close go through the emulated SQS FIFO queue (one
 * message group per connection) to the ingress handler. Each behaviour for protocol 4 and 5.
 *
 * The transport packs the packets written in one turn of the event loop into one WebSocket
 * message; the tests let a turn pass between packets (`nextTurn`), so that each one is its own
 * frame, its own queue message, and could be reordered if the queue did not keep order.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { DEFAULT_MAX_RECEIVES } from '../../lib/runtime/deps';
import type { RuntimeDeps } from '../../lib/runtime/types';
import type { SubscriptionStore } from '../../lib/store/subscription-port';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const VERSIONS: ProtocolVersion[] = [4, 5];
const ROUNDS = 100;
const SEQUENTIAL = 200;
const JITTER_MS = 50;
/** The failing broker's visibility timeout: retries come quickly. */
const VISIBILITY_MS = 100;

let broker: TestBroker;
let jittery: TestBroker;
let failing: TestBroker;
/** Filters whose subscription write fails once (then succeeds), or always. */
const failOnce = new Set<string>();
const failAlways = new Set<string>();
/** Subscription writes tried, per filter. */
const putAttempts = new Map<string, number>();
const clients: MqttClient[] = [];

beforeAll(async () => {
  [broker, jittery, failing] = await Promise.all([
    startTestBroker(),
    startTestBroker({ gateway: { jitterMs: JITTER_MS } }),
    startTestBroker({ gateway: { visibilityTimeoutMs: VISIBILITY_MS }, wrapRuntime: withFailingSubscriptions }),
  ]);
  for (const b of [broker, jittery, failing]) expect(b.url).toMatch(/^ws:/);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all([broker, jittery, failing].map((b) => b?.dispose()));
});

/** The runtime with a subscription store whose writes fail as `failOnce` and `failAlways` say. */
function withFailingSubscriptions(deps: RuntimeDeps): RuntimeDeps {
  const inner = deps.subscriptions;
  const put: SubscriptionStore['put'] = async (records) => {
    for (const { topicFilter } of records) {
      putAttempts.set(topicFilter, (putAttempts.get(topicFilter) ?? 0) + 1);
      if (failAlways.has(topicFilter) || failOnce.delete(topicFilter)) throw new Error(`injected failure: ${topicFilter}`);
    }
    return inner.put(records);
  };
  const subscriptions = new Proxy(inner, {
    get: (target, name) => (name === 'put' ? put : (Reflect.get(target, name, target) as unknown)),
  });
  return { ...deps, subscriptions };
}

interface Opened {
  readonly c: MqttClient;
  readonly connack: IConnackPacket;
  readonly received: IPublishPacket[];
}

function open(on: TestBroker, version: ProtocolVersion, options: IClientOptions = {}): Promise<Opened> {
  const c = connect(on.url, { protocolVersion: version, clientId: `o-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...options });
  clients.push(c);
  const received: IPublishPacket[] = [];
  c.on('message', (_topic, _payload, packet) => received.push(packet));
  return new Promise((resolve, reject) => {
    c.once('connect', (connack) => resolve({ c, connack, received }));
    c.once('error', reject);
  });
}

const topic = (name: string) => `ordered/${randomUUID().slice(0, 8)}/${name}`;
const text = (p: IPublishPacket) => Buffer.from(p.payload).toString();
/** The MQTT bytes of a queued frame: its `<seq>:` number stripped (docs/TRANSPORT.md section 3). */
const frameBytes = (body: string) => Buffer.from(body.replace(/^[1-9][0-9]*:/, ''), 'base64');
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe.each(VERSIONS)('ordered ingress, protocol %i', (version) => {
  it.each([0, 1, 2] as const)(
    `SUBSCRIBE then PUBLISH without waiting for SUBACK: the client receives its own message, ${ROUNDS} rounds at QoS %i`,
    async (qos) => {
      const { c, received } = await open(broker, version);
      let missed: number | undefined;
      for (let round = 0; round < ROUNDS && missed === undefined; round++) {
        const t = topic(`own-${round}`);
        c.subscribe(t, { qos });
        await nextTurn(); // the SUBSCRIBE leaves in its own WebSocket message
        c.publish(t, `r${round}`, { qos });
        await eventually(() => received.some((p) => p.topic === t), 40).catch(() => (missed = round));
      }
      expect(missed).toBeUndefined();
      await c.endAsync();
    },
    30_000,
  );

  it.each([0, 1] as const)(`${SEQUENTIAL} sequential QoS %i publishes arrive in order, with jitter ${JITTER_MS} ms [MQTT-4.6.0-5]`, async (qos) => {
    const t = topic('sequence');
    const sub = await open(jittery, version);
    await sub.c.subscribeAsync(t, { qos: 1 });
    const pub = await open(jittery, version);
    const sent = Array.from({ length: SEQUENTIAL }, (_, i) => `m${i}`);
    for (const payload of sent) {
      pub.c.publish(t, payload, { qos });
      await nextTurn();
    }
    await eventually(() => sub.received.length >= SEQUENTIAL, 400);
    expect(sub.received.map(text)).toEqual(sent);
    await Promise.all([sub.c.endAsync(), pub.c.endAsync()]);
  }, 30_000);

  // Across two connections (two message groups) the queue gives no order. A DISCONNECT releases
  // its session at once (lib/runtime/message.ts), and a CONNECT that finds the session held by a
  // connection whose WebSocket is gone waits for that connection's last frames and close
  // (lib/runtime/inputs.ts settledSession) before it decides Session Present.
  it(`DISCONNECT then an immediate reconnect finds no session: Session Present 0 (${version === 5 ? 'Session Expiry 0 on DISCONNECT' : 'clean session'}) [MQTT-3.2.2-2]`, async () => {
    for (let round = 0; round < 10; round++) {
      const clientId = `again-${version}-${randomUUID().slice(0, 6)}`;
      // v5: a persistent session that the DISCONNECT ends; 3.1.1: a clean session, which ends with its connection.
      const first = await open(broker, version, version === 5 ? { clientId, clean: false, properties: { sessionExpiryInterval: 300 } } : { clientId, clean: true });
      await first.c.subscribeAsync(topic('kept'), { qos: 1 });
      first.c.end(false, version === 5 ? { reasonCode: 0, properties: { sessionExpiryInterval: 0 } } : {});
      const again = await open(broker, version, { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) });
      expect({ round, sessionPresent: again.connack.sessionPresent }).toEqual({ round, sessionPresent: false });
      await again.c.endAsync();
    }
  }, 30_000);

  it('a DISCONNECT is never overtaken by its close: no will is published [MQTT-3.14.4-3]', async () => {
    const t = topic('will');
    const watcher = await open(broker, version);
    await watcher.c.subscribeAsync(t, { qos: 1 });
    for (let round = 0; round < 10; round++) {
      const { c } = await open(broker, version, { will: { topic: t, payload: Buffer.from(`will-${round}`), qos: 1, retain: false } });
      await c.endAsync(); // DISCONNECT, then the close at once
    }
    // The control: a close without DISCONNECT publishes the will, so the watcher would have seen them.
    const { c } = await open(broker, version, { will: { topic: t, payload: Buffer.from('dropped'), qos: 1, retain: false } });
    c.stream.destroy();
    await eventually(() => watcher.received.length >= 1);
    await settle();
    expect(watcher.received.map(text)).toEqual(['dropped']);
    await watcher.c.endAsync();
  });

  it('a packet whose handling fails once is retried and handled in order: the PUBLISH behind it waits', async () => {
    const t = topic('retried');
    failOnce.add(t);
    const { c, received } = await open(failing, version);
    const granted = c.subscribeAsync(t, { qos: 1 });
    await nextTurn();
    c.publish(t, 'after the retry', { qos: 1 });
    expect((await granted).map((g) => g.qos)).toEqual([1]);
    await eventually(() => received.length === 1);
    expect(putAttempts.get(t)).toBe(2);
    expect(received.map(text)).toEqual(['after the retry']);
    await c.endAsync();
  });

  it('a packet that always fails lands in the dead-letter list, and its connection is closed', async () => {
    const t = topic('poison');
    failAlways.add(t);
    const { c } = await open(failing, version);
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const disconnects: number[] = [];
    c.on('disconnect', (packet) => disconnects.push(packet.reasonCode ?? 0));
    c.subscribe(t, { qos: 1 }, () => undefined);
    await closed;
    // DEFAULT_MAX_RECEIVES (the queue's maxReceiveCount) receives: each but the last tries the frame
    // twice (once more in place, lib/runtime/ingress.ts), the last once, answering the failure.
    expect(putAttempts.get(t)).toBe((DEFAULT_MAX_RECEIVES - 1) * 2 + 1);
    if (version === 5) expect(disconnects).toEqual([0x83]); // Implementation specific error
    await eventually(() => failing.deadLetters().some((d) => frameBytes(d.send.body).includes(t)));
    const dead = failing.deadLetters().find((d) => frameBytes(d.send.body).includes(t));
    expect(dead).toMatchObject({ receiveCount: 5, send: { attributes: { stratusEventType: 'MESSAGE' } } });
    expect(dead!.send.body).toMatch(/^2:/); // the transport numbers its messages: CONNECT was 1
    expect(frameBytes(dead!.send.body)[0]).toBe(0x82); // SUBSCRIBE
  });
});
