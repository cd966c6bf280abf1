import { describe, expect, it } from 'vitest';
import { handlePacket } from '../../../lib/broker/handle';
import type { Packet } from '../../../lib/mqtt/types';
import { CONNECTION_ID, connectPacket, connectedState, decided, makeCtx, onlySent, will } from './fixtures';

/** Packets whose handler needs inputs the runtime loads (ctx.publish / subscribe / unsubscribe). */
const NEEDS_INPUTS: Packet[] = [
  { type: 'publish', topic: 'a/b', payload: new Uint8Array(), qos: 0, retain: false, dup: false },
  { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/#', qos: 1 }] },
  { type: 'unsubscribe', packetId: 1, topicFilters: ['a/#'] },
];

const ACKS: Packet[] = [
  { type: 'puback', packetId: 1 },
  { type: 'pubrec', packetId: 1 },
  { type: 'pubrel', packetId: 1 },
  { type: 'pubcomp', packetId: 1 },
];

const NOT_CONNECT: Packet[] = [...NEEDS_INPUTS, ...ACKS];

const SERVER_ONLY: Packet[] = [
  { type: 'connack', sessionPresent: false, reasonCode: 0 },
  { type: 'suback', packetId: 1, reasonCodes: [0] },
  { type: 'unsuback', packetId: 1, reasonCodes: [] },
  { type: 'pingresp' },
];

describe.each([4, 5] as const)('handlePacket, protocol %i', (v) => {
  it.each(NEEDS_INPUTS.map((p) => [p.type, p] as const))('answers %s without its inputs as a runtime defect: 0x83, nothing written', (_type, packet) => {
    const result = handlePacket(packet, connectedState(v), makeCtx());
    expect(result.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x83 }] : []);
    expect(result.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x83 });
    expect(result.intents.filter((i) => i.kind !== 'will.publish')).toEqual([]);
  });

  it.each(NEEDS_INPUTS.map((p) => [p.type, p] as const))('decides %s when the runtime gave its inputs', (_type, packet) => {
    const inputs = { existingFilters: new Set<string>() };
    const ctx = makeCtx({ subscribe: inputs, unsubscribe: inputs, publish: { routes: [] } });
    expect(handlePacket(packet, connectedState(v), ctx).kind).toBe('decision');
  });

  it.each(ACKS.map((p) => [p.type, p] as const))('decides %s without inputs', (_type, packet) => {
    expect(handlePacket(packet, connectedState(v), makeCtx()).kind).toBe('decision');
  });

  it.each(NOT_CONNECT.map((p) => [p.type, p] as const))('closes on %s before CONNECT, sending nothing [MQTT-3.1.0-1]', (_type, packet) => {
    const d = decided(handlePacket(packet, { status: 'open' }, makeCtx()));
    expect(d.send).toEqual([]);
    expect(d.intents).toEqual([]);
    expect(d.close?.reason).toBe('connect-expected');
  });

  it.each(SERVER_ONLY.map((p) => [p.type, p] as const))('treats %s from a client as a Protocol Error (0x82)', (_type, packet) => {
    const d = decided(handlePacket(packet, connectedState(v), makeCtx()));
    expect(d.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x82 }] : []);
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x82 });
  });

  it('treats a second CONNECT as a Protocol Error and publishes the will [MQTT-3.1.0-2] [MQTT-3.1.2-8]', () => {
    const w = will();
    const state = connectedState(v, { will: w });
    const d = decided(handlePacket(connectPacket(v), state, makeCtx({ connect: null })));
    expect(d.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x82 }] : []);
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x82 });
    expect(d.intents).toEqual([{ kind: 'will.publish', clientId: 'sensor-1', connectionId: CONNECTION_ID, will: w }]);
    expect(d.state).toBe(state);
  });

  it('answers a second CONNECT in the version of the first', () => {
    const d = decided(handlePacket(connectPacket(v === 5 ? 4 : 5), connectedState(v), makeCtx()));
    expect(d.protocolVersion).toBe(v);
  });
});

describe('handlePacket, AUTH (protocol 5)', () => {
  it('answers AUTH without an Authentication Method in CONNECT with DISCONNECT 0x82 [MQTT-4.12.0-7]', () => {
    const d = decided(handlePacket({ type: 'auth', reasonCode: 0x19 }, connectedState(5), makeCtx()));
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x82);
    expect(d.close?.reason).toBe('server-disconnect');
  });
});
