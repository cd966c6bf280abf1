/**
 * Stock mosquitto_pub and mosquitto_sub (Debian's mosquitto-clients) through the edge bridge to
 * local strict mode, exchanging messages with MQTT.js over the Stratus transport. Each behaviour
 * for MQTT 3.1.1 and 5.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../helpers/local-broker';
import { ensureStockClients } from './debian';
import {
  endClients,
  killAll,
  mosquittoPub,
  mosquittoSub,
  startTestBridge,
  stratusClient,
  text,
  topic,
  uid,
  until,
  type TestBridge,
} from './helpers';

let broker: TestBroker;
let bridge: TestBridge;

beforeAll(async () => {
  await ensureStockClients();
  broker = await startTestBroker();
  bridge = await startTestBridge(broker.url);
}, 300_000);

afterEach(() => killAll());

afterAll(async () => {
  killAll();
  endClients();
  await bridge?.close();
  await broker?.dispose();
});

const VERSIONS = [
  ['mqttv311', 4],
  ['mqttv5', 5],
] as const;

describe.each(VERSIONS)('mosquitto clients, %s, through the bridge', (mosquittoVersion, version) => {
  const V = ['-V', mosquittoVersion];

  it.each([0, 1, 2])('mosquitto_pub at QoS %i reaches an MQTT.js subscriber', async (qos) => {
    const t = topic('pub');
    const sub = await stratusClient(broker.url, version);
    await sub.c.subscribeAsync(t, { qos: 2 });
    const pub = await mosquittoPub(bridge, [...V, '-i', uid('mpub'), '-t', t, '-m', `reading-${qos}`, '-q', String(qos)]);
    expect(pub.stderr).toBe('');
    expect(await pub.exited).toBe(0);
    await until(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({ topic: t, qos, retain: false });
    expect(text(sub.received[0])).toBe(`reading-${qos}`);
  });

  it.each([0, 1, 2] as const)('an MQTT.js publish at QoS %i reaches mosquitto_sub', async (qos) => {
    const t = topic('sub');
    const sub = await mosquittoSub(bridge, [...V, '-i', uid('msub'), '-t', t, '-q', '2', '-C', '1']);
    const pub = await stratusClient(broker.url, version);
    await pub.c.publishAsync(t, `setpoint-${qos}`, { qos });
    expect(await sub.line(/^MSG /)).toBe(`MSG ${qos} 0 ${t} setpoint-${qos}`);
    expect(await sub.exited).toBe(0); // -C 1: it got its message and disconnected cleanly
  });

  it('retained messages both ways: mosquitto_pub -r to MQTT.js, MQTT.js to a later mosquitto_sub', async () => {
    const fromMosquitto = topic('retained-a');
    const fromJs = topic('retained-b');
    const pub = await mosquittoPub(bridge, [...V, '-t', fromMosquitto, '-m', 'kept', '-q', '1', '-r']);
    expect(await pub.exited).toBe(0);
    const js = await stratusClient(broker.url, version);
    await js.c.publishAsync(fromJs, 'also kept', { qos: 1, retain: true });
    await js.c.subscribeAsync(fromMosquitto, { qos: 1 });
    await until(() => js.received.length === 1);
    expect(js.received[0]).toMatchObject({ topic: fromMosquitto, retain: true }); // [MQTT-3.3.1-6]
    expect(text(js.received[0])).toBe('kept');
    const sub = await mosquittoSub(bridge, [...V, '-t', fromJs, '-q', '1', '-C', '1']);
    expect(await sub.line(/^MSG /)).toBe(`MSG 1 1 ${fromJs} also kept`);
  });

  it('a will reaches MQTT.js when mosquitto_sub is killed without DISCONNECT [MQTT-3.1.2-8]', async () => {
    const t = topic('will');
    const watcher = await stratusClient(broker.url, version);
    await watcher.c.subscribeAsync(t, { qos: 1 });
    const sub = await mosquittoSub(bridge, [...V, '-t', topic('idle'), '--will-topic', t, '--will-payload', 'line down', '--will-qos', '1']);
    sub.kill('SIGKILL');
    await until(() => watcher.received.length === 1);
    expect(watcher.received[0]).toMatchObject({ topic: t, qos: 1 });
    expect(text(watcher.received[0])).toBe('line down');
  });
});

describe('through the bridge, MQTT 5 specifics and operations', () => {
  it('a clean DISCONNECT from mosquitto_pub suppresses its will [MQTT-3.14.4-3]', async () => {
    const t = topic('no-will');
    const watcher = await stratusClient(broker.url, 4);
    await watcher.c.subscribeAsync(t, { qos: 1 });
    const pub = await mosquittoPub(bridge, ['-t', topic('x'), '-m', 'x', '-q', '1', '--will-topic', t, '--will-payload', 'w']);
    expect(await pub.exited).toBe(0);
    // A marker sent after the will would have been: once it arrives, the will is known absent.
    const marker = await stratusClient(broker.url, 4);
    await marker.c.publishAsync(t, 'marker', { qos: 1 });
    await until(() => watcher.received.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // past the broker's clean-close grace
    expect(watcher.received.map(text)).toEqual(['marker']);
  });
  it('v5 properties are relayed unchanged: user properties and content type from mosquitto_pub', async () => {
    const t = topic('props');
    const sub = await stratusClient(broker.url, 5);
    await sub.c.subscribeAsync(t, { qos: 1 });
    const pub = await mosquittoPub(bridge, [
      '-V', 'mqttv5', '-t', t, '-m', '{"t":21.5}', '-q', '1',
      '-D', 'publish', 'user-property', 'line', '7',
      '-D', 'publish', 'content-type', 'application/json',
    ]);
    expect(await pub.exited).toBe(0);
    await until(() => sub.received.length === 1);
    expect(sub.received[0].properties).toMatchObject({ userProperties: { line: '7' }, contentType: 'application/json' });
  });

  it('logs each connection as a JSON line with its client id, never the password', async () => {
    const id = uid('logged');
    // The broker may refuse these made-up credentials; either way the CONNECT went through the bridge.
    await mosquittoPub(bridge, ['-i', id, '-u', 'press-7', '-P', 'hunter2-secret', '-t', topic('auth'), '-m', 'x']);
    const connection = () => bridge.logs.find((line) => line.clientId === id)?.connection;
    await until(() => bridge.logs.some((line) => line.connection === connection() && /closing the client|client disconnected/.test(String(line.msg))));
    expect(bridge.logs.find((line) => line.clientId === id)).toMatchObject({ level: 'info', msg: 'client connected', transport: 'tcp', protocolLevel: 4 });
    expect(bridge.rawLogs.join('\n')).not.toContain('hunter2-secret');
  });
});
