/** Shared builders for the broker core tests. Pure data; no I/O. */

import { expect } from 'vitest';
import { parseBrokerConfig, type BrokerConfigInput } from '../../../lib/broker/config';
import type { Decision } from '../../../lib/broker/decisions';
import type { Route } from '../../../lib/broker/delivery';
import type {
  AckInputs,
  BrokerContext,
  ConnectInputs,
  MqttConnectionState,
  PublishInputs,
  SubscriptionInputs,
} from '../../../lib/broker/state';
import type { ConnectPacket, ProtocolVersion, Will } from '../../../lib/mqtt/types';
import { connectPacket as baseConnect } from '../../helpers/packets';

export const CONNECTION_ID = 'Kx3fYcN9IAMCJWw=';
export const NOW = 1_800_000_000_000;
export const REQUEST_TIME = NOW - 5;

export interface CtxOptions {
  config?: BrokerConfigInput;
  connect?: Partial<ConnectInputs> | null;
  assignClientId?: () => string;
  subscribe?: SubscriptionInputs;
  unsubscribe?: SubscriptionInputs;
  publish?: PublishInputs;
  ack?: AckInputs;
}

export function makeCtx(options: CtxOptions = {}): BrokerContext {
  const connect: ConnectInputs | undefined =
    options.connect === null
      ? undefined
      : { auth: { ok: true }, existingSession: null, ...options.connect };
  return {
    config: parseBrokerConfig(options.config),
    now: NOW,
    connectionId: CONNECTION_ID,
    requestTimeEpoch: REQUEST_TIME,
    assignClientId: options.assignClientId,
    connect,
    subscribe: options.subscribe,
    unsubscribe: options.unsubscribe,
    publish: options.publish,
    ack: options.ack,
  };
}

/** A CONNECT for the version: 'MQIsdp' for 3, 'MQTT' otherwise; user 'alice', clean start. */
export function connectPacket(version: ProtocolVersion, overrides: Partial<ConnectPacket> = {}): ConnectPacket {
  return baseConnect(version, { clientId: 'sensor-1', username: 'alice', password: new Uint8Array([0x70, 0x77]), ...overrides });
}

export function will(overrides: Partial<Will> = {}): Will {
  return { topic: 'devices/sensor-1/status', payload: new Uint8Array([0x6f, 0x66, 0x66]), qos: 1, retain: false, ...overrides };
}

export function connectedState(
  version: ProtocolVersion,
  overrides: Partial<MqttConnectionState> = {},
): MqttConnectionState {
  return {
    status: 'mqtt',
    protocolVersion: version,
    clientId: 'sensor-1',
    clientIdAssigned: false,
    keepAlive: 60,
    sessionExpiryInterval: 0,
    will: null,
    username: 'alice',
    principal: null,
    clientLimits: { receiveMaximum: 0xffff, maximumPacketSize: null, topicAliasMaximum: 0 },
    ...overrides,
  };
}

/** The core's result, asserted to be a decision. */
export function decided(result: Decision): Decision {
  expect(result.kind).toBe('decision');
  return result;
}

/** The only packet sent, asserted to be of `type`. */
export function onlySent<T extends Decision['send'][number]['type']>(
  d: Decision,
  type: T,
): Extract<Decision['send'][number], { type: T }> {
  expect(d.send).toHaveLength(1);
  const packet = d.send[0];
  expect(packet.type).toBe(type);
  return packet as Extract<Decision['send'][number], { type: T }>;
}

export function intentOf<K extends Decision['intents'][number]['kind']>(
  d: Decision,
  kind: K,
): Extract<Decision['intents'][number], { kind: K }> | undefined {
  return d.intents.find((i) => i.kind === kind) as Extract<Decision['intents'][number], { kind: K }> | undefined;
}

/** A route for `filter` to `clientId`, online on `conn-<clientId>` (text), v5, QoS 2 granted, clean session. */
export function route(clientId: string, overrides: Partial<Route> = {}): Route {
  return {
    clientId,
    connectionId: `conn-${clientId}`,
    protocolVersion: 5,
    filter: 'a/b',
    grantedQos: 2,
    noLocal: false,
    retainAsPublished: false,
    sessionEpoch: `epoch-${clientId}`,
    persistent: false,
    mode: 'text',
    ...overrides,
  };
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
