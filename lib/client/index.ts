/**
 * stratus-mqtt/client: MQTT.js over API Gateway WebSocket APIs. `connect()` returns a stock
 * MQTT.js `MqttClient` whose stream speaks the Stratus framing (base64 in text frames, whole
 * packets per outgoing message; docs/TRANSPORT.md), so it can talk to Stratus on AWS, to the
 * local gateway in strict mode, or to any server implementing that framing.
 *
 *   import { connect } from 'stratus-mqtt/client';
 *   const client = connect('wss://abc123.execute-api.eu-west-1.amazonaws.com/prod', { protocolVersion: 5 });
 */

import mqtt, { type IClientOptions, type MqttClient, type StreamBuilder } from 'mqtt';
import type { ClientOptions } from 'ws';
import { MESSAGE_LIMIT_BYTES } from '../api-gateway';
import { resolveLimits, type StratusTransportOptions } from './limits';
import type { ReassemblyOptions } from './reassembly';
import { chooseSocketFactory } from './socket';
import type { SocketTarget } from './socket-types';
import { StratusStream, type TransportCounters } from './stream';
export { CLIENT_FRAME_CHARS, FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES } from '../api-gateway';

export {
  FramingRefusedError,
  GatewayErrorFrameError,
  IntegrationFailedError,
  MalformedFrameError,
  MalformedPacketError,
  PacketTooLargeError,
  TransportError,
  WebSocketError,
} from './errors';
export { maxPacketSize, type StratusTransportOptions } from './limits';
export { StratusStream, type TransportCounters } from './stream';
export { Reassembler, decodeServerMessages, type ReassemblyOptions } from './reassembly';
export type { MqttClient };

export type StratusClientOptions = IClientOptions & StratusTransportOptions;

/** Each client's counters, across its reconnections; a WeakMap, so an ended client is collected. */
const countersByClient = new WeakMap<MqttClient, TransportCounters>();

/**
 * What the transport counted for `client` since it was created, over all its connections: API
 * Gateway error frames (`gatewayErrorFrames`, each a GatewayErrorFrameError on 'error'). A copy;
 * zeros for a client the transport has not connected yet.
 */
export function transportCounters(client: MqttClient): Readonly<TransportCounters> {
  return { ...(countersByClient.get(client) ?? newCounters()) };
}

function newCounters(): TransportCounters {
  return { gatewayErrorFrames: 0 };
}

function countersOf(client: MqttClient): TransportCounters {
  let counters = countersByClient.get(client);
  if (counters === undefined) {
    counters = newCounters();
    countersByClient.set(client, counters);
  }
  return counters;
}

/** MQTT.js options copied into `ws`'s options for wss:// in Node, as MQTT.js does. */
const TLS_OPTIONS = ['rejectUnauthorized', 'ca', 'cert', 'key', 'pfx', 'passphrase'] as const;

/**
 * Connects MQTT.js to `url` (ws:// or wss://) over the Stratus framing. Options are MQTT.js's
 * (protocolVersion, clientId, reconnectPeriod, wsOptions, transformWsUrl, ...) plus the
 * transport's (batchMs, maxFrameSize, maxMessageSize, highWaterMark, numbered, onGatewayError).
 * Throws TypeError for another scheme and RangeError for limits API Gateway would refuse.
 */
export function connect(url: string, options: StratusClientOptions = {}): MqttClient {
  const client = new mqtt.MqttClient(createStreamBuilder(url, options), clientOptions(url, options));
  // As mqtt.connect() does: an 'error' without listeners must not throw.
  client.on('error', () => {});
  return client;
}

/** Like MQTT.js's connectAsync: resolves on the first CONNACK, rejects (and ends) on error. */
export function connectAsync(url: string, options: StratusClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(url, options);
    const onConnect = (): void => {
      client.off('error', onError);
      resolve(client);
    };
    const onError = (error: Error): void => {
      client.off('connect', onConnect);
      client.end(true);
      reject(error);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}

/**
 * The MQTT.js stream builder behind `connect()`, for `new MqttClient(builder, options)`. Each call
 * of the builder (first connection, every reconnection) opens a new WebSocket.
 */
export function createStreamBuilder(url: string, options: StratusClientOptions = {}): StreamBuilder {
  const base = parseUrl(url);
  const limits = resolveLimits(options);
  const createWebsocket = options.createWebsocket;
  return (client) => {
    const target = socketTarget(base, options, client);
    const factory = chooseSocketFactory(target, {
      forceNativeWebSocket: options.forceNativeWebSocket,
      createWebSocket: createWebsocket && ((wsUrl, protocols) => createWebsocket(wsUrl, protocols, options) as WebSocket),
    });
    return new StratusStream(factory, limits, receiveLimits(options), countersOf(client));
  };
}

/** Reassembly bounds: a v5 client's own Maximum Packet Size, when it sets one, caps a packet's parts. */
function receiveLimits(options: StratusClientOptions): ReassemblyOptions {
  const max = options.properties?.maximumPacketSize;
  return max === undefined ? {} : { maxPacketBytes: Math.min(max, MESSAGE_LIMIT_BYTES) };
}

function parseUrl(url: string): URL {
  const parsed = new URL(url);
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TypeError(`stratus-mqtt/client needs a ws:// or wss:// URL, got ${parsed.protocol}`);
  }
  return parsed;
}

/** MQTT.js options completed from the URL, as mqtt.connect() would: credentials, host, port. */
function clientOptions(url: string, options: StratusClientOptions): IClientOptions {
  const parsed = parseUrl(url);
  const secure = parsed.protocol === 'wss:';
  return {
    ...options,
    protocol: secure ? 'wss' : 'ws',
    hostname: parsed.hostname,
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : secure ? 443 : 80,
    path: parsed.pathname + parsed.search,
    username: options.username ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined),
    password: options.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined),
  };
}

function socketTarget(base: URL, options: StratusClientOptions, client: MqttClient): SocketTarget {
  const withoutCredentials = new URL(base.href);
  withoutCredentials.username = '';
  withoutCredentials.password = '';
  let url = withoutCredentials.href;
  if (options.transformWsUrl) url = options.transformWsUrl(url, options, client);
  const legacy = options.protocolId === 'MQIsdp' && options.protocolVersion === 3;
  return { url, protocols: [legacy ? 'mqttv3.1' : 'mqtt'], wsOptions: wsOptions(options) };
}

function wsOptions(options: StratusClientOptions): ClientOptions {
  const source = options as Record<string, unknown>;
  const tls: Record<string, unknown> = {};
  for (const key of TLS_OPTIONS) if (source[key] !== undefined) tls[key] = source[key];
  return { ...tls, ...(options.wsOptions as ClientOptions | undefined) };
}
