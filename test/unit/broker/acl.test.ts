/**
 * The core's access checks: CONNECT compiles the verdict's rules with the final client id and
 * checks the will topic; PUBLISH and SUBSCRIBE consult the rules carried in the connection state.
 */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../lib/broker/decisions';
import { handlePacket } from '../../../lib/broker/handle';
import type { MqttConnectionState } from '../../../lib/broker/state';
import type { ConnectionAcl, PrincipalAccess } from '../../../lib/auth/types';
import type { ProtocolVersion, PublishPacket } from '../../../lib/mqtt/types';
import { bytes, connectPacket, connectedState, decided, intentOf, makeCtx, onlySent, route, will } from './fixtures';

const OPEN = { status: 'open' } as const;

const ACCESS: PrincipalAccess = {
  defaultEffect: 'deny',
  rules: [
    { id: 'r1', effect: 'allow', actions: ['publish', 'subscribe'], pattern: 'plant/a/#' },
    { id: 'r2', effect: 'allow', actions: ['publish'], pattern: 'devices/%c/status' },
    { id: 'r3', effect: 'deny', actions: ['publish', 'subscribe'], pattern: 'plant/a/locked/#' },
  ],
};

const ACL: ConnectionAcl = {
  defaultEffect: 'deny',
  rules: [
    { effect: 'allow', publish: true, subscribe: true, filter: 'plant/a/#' },
    { effect: 'deny', publish: true, subscribe: true, filter: 'plant/a/locked/#' },
    { effect: 'allow', publish: false, subscribe: true, filter: 'plant/a/#', share: 'g' },
  ],
};

function connect(version: ProtocolVersion, access: PrincipalAccess | undefined, overrides = {}, assignClientId?: () => string): Decision {
  const ctx = makeCtx({ connect: { auth: { ok: true, principal: 'alice', ...(access ? { access } : {}) } }, assignClientId });
  return decided(handlePacket(connectPacket(version, overrides), OPEN, ctx));
}

function publish(state: MqttConnectionState, topic: string, qos: 0 | 1 | 2): Decision {
  const packet: PublishPacket = { type: 'publish', topic, payload: bytes('x'), qos, retain: true, dup: false, ...(qos > 0 ? { packetId: 7 } : {}) };
  return decided(handlePacket(packet, state, makeCtx({ publish: { routes: [route('sub-1', { filter: 'plant/#' })] } })));
}

describe.each([4, 5] as const)('access rules in the core, protocol %i', (v) => {
  it('CONNECT compiles the rules with the client id and stores them with the connection', () => {
    const d = connect(v, ACCESS);
    const state = d.state as MqttConnectionState;
    expect(state.acl?.rules.map((r) => r.filter)).toEqual(['plant/a/#', 'devices/sensor-1/status', 'plant/a/locked/#']);
    expect(intentOf(d, 'connection.markConnected')?.connection.acl).toEqual(state.acl);
  });

  it('CONNECT with an assigned client id substitutes %c with the assigned id [MQTT-3.1.3-6]', () => {
    const d = connect(v, ACCESS, { clientId: '', clean: true }, () => 'assigned-9');
    expect((d.state as MqttConnectionState).acl?.rules[1].filter).toBe('devices/assigned-9/status');
  });

  it('no access in the verdict, or allow-by-default with no rule: unrestricted (nothing stored)', () => {
    expect((connect(v, undefined).state as MqttConnectionState).acl).toBeNull();
    expect((connect(v, { defaultEffect: 'allow', rules: [] }).state as MqttConnectionState).acl).toBeNull();
  });

  it('a will topic the rules do not allow refuses the CONNECT: 0x87 (v5) / return code 5 (3.1.1)', () => {
    const d = connect(v, ACCESS, { will: will({ topic: 'plant/b/status' }) });
    expect(onlySent(d, 'connack').reasonCode).toBe(v === 5 ? 0x87 : 5);
    expect(d.intents).toEqual([]);
    expect(connect(v, ACCESS, { will: will({ topic: 'plant/a/status' }) }).close).toBeNull();
  });

  it('an allowed PUBLISH is routed and retained as usual', () => {
    const d = publish(connectedState(v, { acl: ACL }), 'plant/a/line1', 1);
    expect(d.intents.map((i) => i.kind)).toEqual(['retained.put', 'publish.deliver']);
  });

  it('a denied QoS 1 PUBLISH: v5 PUBACK 0x87, 3.1.1 PUBACK; neither routed nor retained; counted', () => {
    const d = publish(connectedState(v, { acl: ACL }), 'plant/b/line1', 1);
    const puback = onlySent(d, 'puback');
    expect(puback.reasonCode).toBe(v === 5 ? 0x87 : undefined);
    expect(d.intents).toEqual([{ kind: 'publish.denied', clientId: 'sensor-1', topic: 'plant/b/line1' }]);
  });

  it('a denied QoS 2 PUBLISH records no receipt: PUBREC (0x87 in v5), nothing routed', () => {
    const d = publish(connectedState(v, { acl: ACL }), 'plant/a/locked/valve', 2);
    expect(onlySent(d, 'pubrec').reasonCode).toBe(v === 5 ? 0x87 : undefined);
    expect(d.intents.map((i) => i.kind)).toEqual(['publish.denied']);
  });

  it('a client PUBLISH to a $ topic is refused even without rules: v5 PUBACK 0x87, neither routed nor retained (MQTT 5.0 section 4.7.2)', () => {
    const d = publish(connectedState(v, { acl: null }), '$SYS/broker/uptime', 1);
    expect(onlySent(d, 'puback').reasonCode).toBe(v === 5 ? 0x87 : undefined);
    expect(d.intents).toEqual([{ kind: 'publish.denied', clientId: 'sensor-1', topic: '$SYS/broker/uptime' }]);
  });

  it('a will on a $ topic refuses the CONNECT even without rules: 0x87 (v5) / return code 5 (3.1.1)', () => {
    const d = connect(v, undefined, { will: will({ topic: '$SYS/fake' }) });
    expect(onlySent(d, 'connack').reasonCode).toBe(v === 5 ? 0x87 : 5);
    expect(d.intents).toEqual([]);
  });

  it('a denied QoS 0 PUBLISH sends nothing back and is dropped', () => {
    const d = publish(connectedState(v, { acl: ACL }), 'plant/b/x', 0);
    expect(d.send).toEqual([]);
    expect(d.close).toBeNull();
    expect(d.intents.map((i) => i.kind)).toEqual(['publish.denied']);
  });

  it('SUBSCRIBE: each filter is checked on its own; a refused one gets 0x87 (v5) / 0x80 (3.1.1) [MQTT-3.9.3-1]', () => {
    const packet = {
      type: 'subscribe' as const,
      packetId: 3,
      subscriptions: [
        { topicFilter: 'plant/a/line1/#', qos: 1 as const },
        { topicFilter: 'plant/b/#', qos: 1 as const },
        { topicFilter: 'plant/a/#', qos: 1 as const },
        { topicFilter: '$share/g/plant/a/line2', qos: 1 as const },
        { topicFilter: '$share/other/plant/a/line2', qos: 1 as const }, // no share rule for this group
      ],
    };
    const d = decided(handlePacket(packet, connectedState(v, { acl: ACL }), makeCtx({ subscribe: { existingFilters: new Set() } })));
    const refused = v === 5 ? 0x87 : 0x80;
    expect(onlySent(d, 'suback').reasonCodes).toEqual([1, refused, refused, 1, refused]);
    const put = intentOf(d, 'subscriptions.put');
    expect(put?.subscriptions.map((s) => s.filter)).toEqual(['plant/a/line1/#', '$share/g/plant/a/line2']);
  });
});

describe.each([4, 5] as const)('session owners, protocol %i', (v) => {
  const ctxWith = (existing: { expiresAt: number | null; principal?: string | null } | null, principal: string | null) =>
    makeCtx({ connect: { auth: principal === null ? { ok: true, access: { defaultEffect: 'allow', rules: [] } } : { ok: true, principal, access: ACCESS }, existingSession: existing } });

  it.each([true, false])('a live session of another principal refuses the CONNECT with 0x87 / 5 (clean %s)', (clean) => {
    const d = decided(handlePacket(connectPacket(v, { clean }), OPEN, ctxWith({ expiresAt: null, principal: 'bob' }, 'alice')));
    expect(onlySent(d, 'connack').reasonCode).toBe(v === 5 ? 0x87 : 5);
  });

  it('an anonymous client cannot take over a user\'s session, nor a user an anonymous one', () => {
    expect(onlySent(decided(handlePacket(connectPacket(v), OPEN, ctxWith({ expiresAt: null, principal: 'bob' }, null))), 'connack').reasonCode).toBe(v === 5 ? 0x87 : 5);
    expect(onlySent(decided(handlePacket(connectPacket(v), OPEN, ctxWith({ expiresAt: null, principal: null }, 'alice'))), 'connack').reasonCode).toBe(v === 5 ? 0x87 : 5);
  });

  it("a token user named like a password user does not own that user's session; %u is the bare name", () => {
    const token = (existing: { expiresAt: number | null; principal?: string | null }) =>
      makeCtx({ connect: { auth: { ok: true, principal: 'token:alice', username: 'alice', access: OWN }, existingSession: existing } });
    const OWN: PrincipalAccess = { defaultEffect: 'deny', rules: [{ id: 'u', effect: 'allow', actions: ['subscribe'], pattern: 'users/%u/#' }] };
    const refused = decided(handlePacket(connectPacket(v), OPEN, token({ expiresAt: null, principal: 'alice' })));
    expect(onlySent(refused, 'connack').reasonCode).toBe(v === 5 ? 0x87 : 5);
    const own = decided(handlePacket(connectPacket(v, { clientId: 'dev-7' }), OPEN, token({ expiresAt: null, principal: 'token:alice' })));
    expect(own.close).toBeNull();
    const state = own.state as MqttConnectionState;
    expect(state.principal).toBe('token:alice');
    expect(state.acl?.rules.map((r) => r.filter)).toEqual(['users/alice/#']);
  });

  it('the same principal, an expired session, or an unknown owner: accepted', () => {
    expect(decided(handlePacket(connectPacket(v), OPEN, ctxWith({ expiresAt: null, principal: 'alice' }, 'alice'))).close).toBeNull();
    expect(decided(handlePacket(connectPacket(v), OPEN, ctxWith({ expiresAt: 1, principal: 'bob' }, 'alice'))).close).toBeNull();
    expect(decided(handlePacket(connectPacket(v), OPEN, ctxWith({ expiresAt: null }, 'alice'))).close).toBeNull();
  });
});
