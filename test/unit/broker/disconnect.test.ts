import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../lib/broker/decisions';
import { handlePacket } from '../../../lib/broker/handle';
import type { MqttConnectionState } from '../../../lib/broker/state';
import type { DisconnectPacket } from '../../../lib/mqtt/types';
import { CONNECTION_ID, connectedState, decided, intentOf, makeCtx, onlySent, will, type CtxOptions } from './fixtures';

function disconnect(state: MqttConnectionState, packet: Partial<DisconnectPacket> = {}, ctx: CtxOptions = {}): Decision {
  return decided(handlePacket({ type: 'disconnect', ...packet }, state, makeCtx(ctx)));
}

describe.each([4, 5] as const)('DISCONNECT, protocol %i', (v) => {
  it('discards the will, sends nothing and closes [MQTT-3.14.4-3] [MQTT-3.14.4-1]', () => {
    const d = disconnect(connectedState(v, { will: will() }));
    expect(d.intents).toEqual([{ kind: 'will.discard', clientId: 'sensor-1', connectionId: CONNECTION_ID }]);
    expect(d.send).toEqual([]);
    expect(d.close).toEqual({ reason: 'client-disconnect', reasonCode: 0 });
    expect(d.state).toMatchObject({ will: null });
  });

  it('writes nothing when there is no will', () => {
    const d = disconnect(connectedState(v));
    expect(d.intents).toEqual([]);
    expect(d.close?.reason).toBe('client-disconnect');
  });

  it('closes without a reply before CONNECT [MQTT-3.1.0-1]', () => {
    const d = decided(handlePacket({ type: 'disconnect' }, { status: 'open' }, makeCtx()));
    expect(d.send).toEqual([]);
    expect(d.intents).toEqual([]);
    expect(d.close?.reason).toBe('connect-expected');
  });
});

describe('DISCONNECT, protocol 4 only', () => {
  it('ignores any v5 fields: the will is discarded [MQTT-3.14.4-3]', () => {
    const d = disconnect(connectedState(4, { will: will() }), { reasonCode: 0x04, properties: { sessionExpiryInterval: 60 } });
    expect(d.intents.map((i) => i.kind)).toEqual(['will.discard']);
  });
});

describe('DISCONNECT, protocol 5 only', () => {
  it('publishes the will on 0x04 Disconnect with Will Message [MQTT-3.1.2-8]', () => {
    const w = will();
    const d = disconnect(connectedState(5, { will: w }), { reasonCode: 0x04 });
    expect(d.intents).toEqual([{ kind: 'will.publish', clientId: 'sensor-1', connectionId: CONNECTION_ID, will: w }]);
    expect(d.close).toEqual({ reason: 'client-disconnect', reasonCode: 0x04 });
  });

  it('publishes the will on an error reason code, as only 0x00 discards it [MQTT-3.14.4-3] [MQTT-3.1.2-8]', () => {
    const d = disconnect(connectedState(5, { will: will() }), { reasonCode: 0x80 });
    expect(d.intents.map((i) => i.kind)).toEqual(['will.publish']);
  });

  it('writes nothing on 0x04 when there is no will', () => {
    expect(disconnect(connectedState(5), { reasonCode: 0x04 }).intents).toEqual([]);
  });

  it('records a new Session Expiry Interval before the will is handled', () => {
    const d = disconnect(connectedState(5, { sessionExpiryInterval: 3600, will: will() }), {
      properties: { sessionExpiryInterval: 7200 },
    });
    expect(d.intents.map((i) => i.kind)).toEqual(['session.setExpiry', 'will.discard']);
    expect(intentOf(d, 'session.setExpiry')).toEqual({
      kind: 'session.setExpiry',
      clientId: 'sensor-1',
      connectionId: CONNECTION_ID,
      sessionExpiryInterval: 7200,
    });
    expect(d.state).toMatchObject({ sessionExpiryInterval: 7200 });
  });

  it('allows lowering the Session Expiry Interval to 0', () => {
    const d = disconnect(connectedState(5, { sessionExpiryInterval: 3600 }), { properties: { sessionExpiryInterval: 0 } });
    expect(intentOf(d, 'session.setExpiry')?.sessionExpiryInterval).toBe(0);
  });

  it('clamps a new Session Expiry Interval to the configured maximum', () => {
    const d = disconnect(
      connectedState(5, { sessionExpiryInterval: 60 }),
      { properties: { sessionExpiryInterval: 0xffffffff } },
      { config: { maximumSessionExpiryInterval: 86400 } },
    );
    expect(intentOf(d, 'session.setExpiry')?.sessionExpiryInterval).toBe(86400);
  });

  it('writes nothing for an unchanged Session Expiry Interval', () => {
    const d = disconnect(connectedState(5, { sessionExpiryInterval: 60 }), { properties: { sessionExpiryInterval: 60 } });
    expect(d.intents).toEqual([]);
  });

  it('answers a non-zero Session Expiry Interval after 0 in CONNECT with DISCONNECT 0x82 (3.14.2.2.2), publishing the will', () => {
    const w = will();
    const d = disconnect(connectedState(5, { sessionExpiryInterval: 0, will: w }), {
      properties: { sessionExpiryInterval: 60 },
    });
    const sent = onlySent(d, 'disconnect');
    expect(sent.reasonCode).toBe(0x82);
    // [MQTT-3.14.2-2] the server's DISCONNECT never carries a Session Expiry Interval
    expect(sent.properties?.sessionExpiryInterval).toBeUndefined();
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x82 });
    expect(d.intents).toEqual([{ kind: 'will.publish', clientId: 'sensor-1', connectionId: CONNECTION_ID, will: w }]);
  });
});
