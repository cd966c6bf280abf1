/**
 * API Gateway's error frames end to end: the local gateway (strict mode, the real handlers on
 * DynamoDB Local) answers chosen client frames with `{"message": "Internal server error",
 * "connectionId": …, "requestId": …}` instead of handing them on, as API Gateway does when the
 * integration fails, and the real client (`connect` from lib/client, MQTT.js) reacts: for
 * protocol 4 and 5.
 */
import { randomUUID } from 'node:crypto';
import { once, type EventEmitter } from 'node:events';
import type { IPublishPacket } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, GatewayErrorFrameError, transportCounters, type MqttClient, type StratusClientOptions } from '../../../lib/client';
import type { ClientFrame } from '../../../lib/local/error-frames';
import { startTestBroker, type TestBroker } from '../../helpers/local-broker';

let broker: TestBroker;
const open: MqttClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.endAsync(true)));
});

afterAll(async () => {
  await broker?.dispose();
});

async function connected(options: StratusClientOptions): Promise<MqttClient> {
  const client = connect(broker.url, { clientId: `ef-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...options });
  open.push(client);
  await once(client as unknown as EventEmitter, 'connect');
  return client;
}

/** A client frame that carries a PUBLISH to `topic` (its base64 decoded, its number stripped). */
const carriesPublishTo =
  (topic: string) =>
  (frame: ClientFrame): boolean => {
    const bytes = Buffer.from(frame.body.replace(/^[0-9]+:/, ''), 'base64');
    return (bytes[0]! >> 4 === 3) && bytes.includes(Buffer.from(topic));
  };

function nextError(client: MqttClient): Promise<Error> {
  return new Promise((resolve) => client.once('error', resolve));
}

function nextMessage(client: MqttClient): Promise<IPublishPacket> {
  return new Promise((resolve) => client.once('message', (_topic, _payload, packet) => resolve(packet)));
}

describe.each([4, 5] as const)('API Gateway error frames, protocol %i', (protocolVersion) => {
  it('the application gets GatewayErrorFrameError with the request id; the connection survives and later publishes round-trip', async () => {
    const base = `ef/${randomUUID().slice(0, 8)}`;
    const client = await connected({ protocolVersion });
    let closed = 0;
    client.on('close', () => (closed += 1));
    const received: string[] = [];
    client.on('message', (_topic, payload) => received.push(payload.toString()));
    await client.subscribeAsync(`${base}/#`, { qos: 1 });
    const connectionIds = broker.connectionIds();
    const sentBefore = broker.errorFramesSent();

    broker.injectErrorFrames({ match: carriesPublishTo(`${base}/lost`) });
    const failed = nextError(client);
    client.publish(`${base}/lost`, 'lost', { qos: 0 });
    const error = await failed;

    expect(error).toBeInstanceOf(GatewayErrorFrameError);
    expect(error).toMatchObject({ code: 'STRATUS_GATEWAY_ERROR_FRAME', gatewayMessage: 'Internal server error' });
    expect((error as GatewayErrorFrameError).requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(connectionIds).toContain((error as GatewayErrorFrameError).connectionId);
    expect(transportCounters(client).gatewayErrorFrames).toBe(1);
    expect(broker.errorFramesSent()).toBe(sentBefore + 1);

    // Same connection, same session: a later publish goes round the broker and back.
    const message = nextMessage(client);
    await client.publishAsync(`${base}/after`, 'after', { qos: 1 });
    expect((await message).topic).toBe(`${base}/after`);
    // The frame that failed reached no handler: its QoS 0 publish is lost (ordered ingress handles
    // this connection's frames in order, so it would have come first).
    expect(received).toEqual(['after']);
    expect(client.connected).toBe(true);
    expect(closed).toBe(0);
    expect(broker.connectionIds()).toContain((error as GatewayErrorFrameError).connectionId);
  });

  it("with onGatewayError: 'reconnect', a QoS 1 publish lost at the gateway is resent on the new connection [MQTT-4.4.0-1]", async () => {
    const base = `ef/${randomUUID().slice(0, 8)}`;
    const subscriber = await connected({ protocolVersion });
    await subscriber.subscribeAsync(`${base}/kept`, { qos: 1 });
    const persistent = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {};
    const publisher = await connected({ protocolVersion, clean: false, reconnectPeriod: 20, onGatewayError: 'reconnect', ...persistent });
    const errors: Error[] = [];
    publisher.on('error', (error) => errors.push(error));
    // Not events.once: it rejects on the 'error' that comes first.
    const reconnected = new Promise<{ sessionPresent: boolean }>((resolve) => publisher.once('connect', resolve));

    broker.injectErrorFrames({ match: carriesPublishTo(`${base}/kept`) });
    const message = nextMessage(subscriber);
    const acked = publisher.publishAsync(`${base}/kept`, 'kept', { qos: 1 });
    expect((await reconnected).sessionPresent).toBe(true);
    await acked; // the PUBACK came for the resent PUBLISH
    const delivered = await message;
    expect(delivered.topic).toBe(`${base}/kept`);
    expect(Buffer.from(delivered.payload).toString()).toBe('kept');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(GatewayErrorFrameError);
    expect(transportCounters(publisher).gatewayErrorFrames).toBe(1);
  });
});
