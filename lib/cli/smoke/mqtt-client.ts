/**
 * The real client for the MQTT-level checks: MQTT.js over the Stratus transport
 * (`connect` of lib/client), as an application would use it, one clean session per client and no
 * reconnection, owned by the check's scope.
 */
import type { IClientOptions, IConnackPacket, MqttClient } from 'mqtt';
import { connect } from '../../client';
import { CheckScope, SmokeStepError, hex, nextClientId, type SmokeContext } from './check';

export interface OpenClient {
  readonly client: MqttClient;
  readonly connack: IConnackPacket;
}

/** Connects a new client with the run's credentials; fails the check if it cannot. */
export async function openClient(ctx: SmokeContext, scope: CheckScope, role: string, extra: IClientOptions = {}): Promise<OpenClient> {
  const client = connect(ctx.url, {
    protocolVersion: ctx.protocolVersion,
    clientId: nextClientId(ctx),
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: ctx.timeoutMs,
    keepalive: 60,
    ...(ctx.username === undefined ? {} : { username: ctx.username }),
    ...(ctx.password === undefined ? {} : { password: ctx.password }),
    ...(ctx.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}),
    ...extra,
  });
  scope.own({ close: () => client.end(true) });
  client.on('error', (error: Error & { code?: unknown; gatewayMessage?: unknown; requestId?: unknown }) => {
    if (error.code === 'STRATUS_INTEGRATION_FAILED') {
      ctx.integrationErrors.push({
        check: scope.check,
        encoding: 'text',
        body: {
          message: typeof error.gatewayMessage === 'string' ? error.gatewayMessage : error.message,
          ...(typeof error.requestId === 'string' ? { requestId: error.requestId } : {}),
          keys: ['message', 'connectionId', 'requestId'],
        },
      });
    }
  });
  scope.step(`the CONNACK of the ${role}`);
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    const stop = scope.onEnd(() => reject(new SmokeStepError('the check ended')));
    client.once('connect', (packet) => {
      stop();
      resolve(packet);
    });
    client.once('error', (error: Error & { code?: unknown }) => {
      stop();
      const code = typeof error.code === 'number' ? ` (CONNACK ${hex(error.code)})` : typeof error.code === 'string' ? ` (${error.code})` : '';
      reject(new SmokeStepError(`the ${role} could not connect: ${error.message}${code}`, { cause: error }));
    });
    client.once('close', () => {
      stop();
      reject(new SmokeStepError(`the ${role}'s connection closed before CONNACK`));
    });
  });
  return { client, connack };
}

/** Subscribes; fails the check when the broker refuses the subscription (a SUBACK failure code). */
export async function subscribe(scope: CheckScope, client: MqttClient, topic: string, qos: 0 | 1 | 2): Promise<void> {
  scope.step(`the SUBACK for ${topic}`);
  const granted = await client.subscribeAsync(topic, { qos });
  const code = granted[0]?.qos;
  if (code === undefined || code >= 0x80) {
    throw new SmokeStepError(`SUBSCRIBE to ${topic} refused (SUBACK ${hex(code ?? 0x80)}): may this user subscribe under --prefix?`);
  }
}

/** Publishes; fails the check when the broker refuses it (v5 PUBACK/PUBREC reason code, or the connection dropped). */
export async function publish(scope: CheckScope, client: MqttClient, topic: string, payload: string, qos: 0 | 1 | 2): Promise<void> {
  scope.step(`the ${qos === 2 ? 'PUBCOMP' : 'PUBACK'} of a QoS ${qos} publish to ${topic}`);
  try {
    await client.publishAsync(topic, payload, { qos });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new SmokeStepError(
      `PUBLISH to ${topic} failed: ${(error as Error).message}${typeof code === 'number' ? ` (${hex(code)}): may this user publish under --prefix?` : ''}`,
      { cause: error },
    );
  }
}

/** Resolves when `count` messages have arrived on `topic` (the check's timeout bounds it). */
export function collect(scope: CheckScope, client: MqttClient, topic: string, count: number, what: string): { messages: Array<{ payload: string; qos: number; at: number }>; done: Promise<void> } {
  const messages: Array<{ payload: string; qos: number; at: number }> = [];
  const done = new Promise<void>((resolve, reject) => {
    const stop = scope.onEnd(() => reject(new SmokeStepError('the check ended')));
    const onMessage = (received: string, payload: Buffer, packet: { qos: number }): void => {
      if (received !== topic) return;
      messages.push({ payload: payload.toString('utf8'), qos: packet.qos, at: performance.now() });
      if (messages.length >= count) {
        client.off('message', onMessage);
        stop();
        resolve();
      }
    };
    client.on('message', onMessage);
    client.once('close', () => {
      if (messages.length < count) {
        stop();
        reject(new SmokeStepError(`${what}: the subscriber's connection closed after ${messages.length} of ${count} messages`));
      }
    });
  });
  done.catch(() => undefined);
  return { messages, done };
}
