/**
 * A stock Paho client (Debian's python3-paho-mqtt, paho_client.py) through the edge bridge to
 * local strict mode, with MQTT.js over the Stratus transport on the other end: QoS 0/1/2 both
 * ways, a will, and a persistent session that survives the upstream being cut by the gateway.
 * Each behaviour for MQTT 3.1.1 and 5.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../helpers/local-broker';
import { ensureStockClients } from './debian';
import { endClients, killAll, paho, startTestBridge, stratusClient, text, topic, uid, until, type TestBridge } from './helpers';

/** The second broker cuts every connection this long after it opens, as API Gateway does at 2 h. */
const MAX_CONNECTION_MS = 3_000;

let broker: TestBroker;
let bridge: TestBridge;
let cutting: TestBroker;
let cuttingBridge: TestBridge;

beforeAll(async () => {
  await ensureStockClients();
  [broker, cutting] = await Promise.all([
    startTestBroker(),
    startTestBroker({ gateway: { maxConnectionDurationMs: MAX_CONNECTION_MS } }),
  ]);
  bridge = await startTestBridge(broker.url);
  cuttingBridge = await startTestBridge(cutting.url);
}, 300_000);

afterEach(() => killAll());

afterAll(async () => {
  killAll();
  endClients();
  await Promise.all([bridge?.close(), cuttingBridge?.close()]);
  await Promise.all([broker?.dispose(), cutting?.dispose()]);
});

describe.each([4, 5] as const)('Paho, protocol %i, through the bridge', (version) => {
  it('publishes at QoS 0, 1 and 2 to an MQTT.js subscriber; the QoS 1 and 2 flows complete', async () => {
    const t = topic('paho-pub');
    const sub = await stratusClient(broker.url, version);
    await sub.c.subscribeAsync(t, { qos: 2 });
    const client = await paho(bridge, { protocol: version });
    for (const qos of [0, 1, 2]) client.send({ cmd: 'publish', topic: t, payload: `q${qos}`, qos });
    await client.waitFor('published', 3); // Paho reports QoS 1 at PUBACK and QoS 2 at PUBCOMP
    await until(() => sub.received.length === 3);
    const byPayload = Object.fromEntries(sub.received.map((p) => [text(p), p.qos]));
    expect(byPayload).toEqual({ q0: 0, q1: 1, q2: 2 });
  });

  it('receives MQTT.js publishes at QoS 0, 1 and 2, exactly once each', async () => {
    const t = topic('paho-sub');
    const client = await paho(bridge, { protocol: version });
    client.send({ cmd: 'subscribe', topic: t, qos: 2 });
    await client.waitFor('subscribed');
    const pub = await stratusClient(broker.url, version);
    for (const qos of [0, 1, 2] as const) await pub.c.publishAsync(t, `m${qos}`, { qos });
    const messages = await client.waitFor('message', 3);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate would land here
    expect(client.count('message')).toBe(3);
    expect(messages.map((m) => [m.payload, m.qos]).sort()).toEqual([
      ['m0', 0],
      ['m1', 1],
      ['m2', 2],
    ]);
  });

  it('its will reaches MQTT.js when the Paho process is killed [MQTT-3.1.2-8]', async () => {
    const t = topic('paho-will');
    const watcher = await stratusClient(broker.url, version);
    await watcher.c.subscribeAsync(t, { qos: 1 });
    const client = await paho(bridge, { protocol: version, will: { topic: t, payload: 'paho gone', qos: 1 } });
    client.proc.kill('SIGKILL');
    await until(() => watcher.received.length === 1);
    expect(text(watcher.received[0])).toBe('paho gone');
  });

  it('a persistent session resumes after the gateway cuts the upstream: the bridge closes the client, which reconnects and gets what was queued', async () => {
    const t = topic('paho-session');
    const session = version === 5 ? { clean: false, session_expiry: 300 } : { clean: false };
    const client = await paho(cuttingBridge, { client_id: uid('paho-persist'), protocol: version, ...session });
    client.send({ cmd: 'subscribe', topic: t, qos: 1 });
    await client.waitFor('subscribed');
    // The gateway ends the upstream at its maximum duration; the bridge must end the client too.
    await client.waitFor('disconnected');
    expect(cuttingBridge.logs.some((line) => line.msg === 'upstream closed; closing the client' && line.code === 1001)).toBe(true);
    const pub = await stratusClient(cutting.url, version);
    await pub.c.publishAsync(t, 'queued while away', { qos: 1 });
    pub.c.end(true);
    client.send({ cmd: 'reconnect' });
    const [, again] = await client.waitFor('connected', 2);
    expect(again.session_present).toBe(true); // [MQTT-3.2.2-2]
    const [message] = await client.waitFor('message');
    expect(message).toMatchObject({ topic: t, payload: 'queued while away', qos: 1 });
  });
});
