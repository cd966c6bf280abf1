/**
 * The edge bridge and API Gateway's error frames: the local gateway (strict mode) answers a
 * device's frame with `{"message": "Internal server error", …}`. A stock client cannot be told
 * of it, so the bridge closes that device's connection (counting the frame); the device
 * reconnects and resends its unacknowledged QoS 1 PUBLISH [MQTT-4.4.0-1]. For protocol 4 and 5.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientFrame } from '../../../lib/local/error-frames';
import { startTestBroker, type TestBroker } from '../../helpers/local-broker';
import { endClients, startTestBridge, stratusClient, text, topic, uid, type TestBridge } from './helpers';

let broker: TestBroker;
let bridge: TestBridge;
const devices: MqttClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  bridge = await startTestBridge(broker.url);
});

afterEach(async () => {
  endClients();
  await Promise.all(devices.splice(0).map((device) => device.endAsync(true)));
});

afterAll(async () => {
  await bridge?.close();
  await broker?.dispose();
});

const carriesPublishTo =
  (name: string) =>
  (frame: ClientFrame): boolean => {
    const bytes = Buffer.from(frame.body.replace(/^[0-9]+:/, ''), 'base64');
    return bytes[0]! >> 4 === 3 && bytes.includes(Buffer.from(name));
  };

describe.each([4, 5] as const)('bridge, API Gateway error frames, protocol %i', (protocolVersion) => {
  it("closes the device's connection on an error frame; the device reconnects and its QoS 1 publish arrives [MQTT-4.4.0-1]", async () => {
    const t = topic('kept');
    const subscriber = await stratusClient(broker.url, protocolVersion);
    await subscriber.c.subscribeAsync(t, { qos: 1 });
    const persistent = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {};
    const device = await mqtt.connectAsync(`mqtt://${bridge.host}:${bridge.port}`, {
      protocolVersion,
      clientId: uid('device'),
      clean: false,
      reconnectPeriod: 20,
      ...persistent,
    });
    devices.push(device);
    let closes = 0;
    device.on('close', () => (closes += 1));
    const before = bridge.stats.gatewayErrorFrames;

    broker.injectErrorFrames({ match: carriesPublishTo(t) });
    const delivered = new Promise<string>((resolve) => subscriber.c.once('message', (_topic, _payload, packet) => resolve(text(packet))));
    await device.publishAsync(t, 'kept', { qos: 1 }); // resolves on the PUBACK of the resent PUBLISH
    expect(await delivered).toBe('kept');
    expect(closes).toBe(1);
    expect(bridge.stats.gatewayErrorFrames).toBe(before + 1);
    const warned = bridge.logs.find((line) => line.level === 'warn' && 'gatewayMessage' in line);
    expect(warned).toMatchObject({ gatewayMessage: 'Internal server error' });
    expect(typeof warned?.requestId).toBe('string');
  });
});
