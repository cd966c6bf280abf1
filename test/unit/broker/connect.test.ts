import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../lib/broker/decisions';
import { handlePacket } from '../../../lib/broker/handle';
import type { BrokerContext } from '../../../lib/broker/state';
import type { ConnectPacket, ProtocolVersion } from '../../../lib/mqtt/types';
import {
  CONNECTION_ID,
  NOW,
  REQUEST_TIME,
  connectPacket,
  decided,
  intentOf,
  makeCtx,
  onlySent,
  will,
  type CtxOptions,
} from './fixtures';

const OPEN = { status: 'open' } as const;

function connect(version: ProtocolVersion, packet: Partial<ConnectPacket> = {}, ctx: CtxOptions = {}): Decision {
  return decided(handlePacket(connectPacket(version, packet), OPEN, makeCtx(ctx)));
}

/**
 * A refused CONNECT: v5 CONNACK with `v5Code`; v3/v4 CONNACK with the return code, or a plain
 * close when 3.1.1 has none. Never a session, never intents, always Session Present 0.
 */
function expectRefused(d: Decision, version: ProtocolVersion, v5Code: number, v4Code: number | 'close'): void {
  expect(d.intents).toEqual([]);
  expect(d.state).toEqual(OPEN);
  expect(d.close?.reason).toBe('connect-refused');
  if (version !== 5 && v4Code === 'close') {
    expect(d.send).toEqual([]);
    return;
  }
  const connack = onlySent(d, 'connack');
  expect(connack.reasonCode).toBe(version === 5 ? v5Code : v4Code);
  expect(connack.sessionPresent).toBe(false); // [MQTT-3.2.2-6] (3.1.1: [MQTT-3.2.2-4])
  expect(d.protocolVersion).toBe(version);
}

function expectAccepted(d: Decision): ReturnType<typeof onlySent<'connack'>> {
  expect(d.close).toBeNull();
  const connack = onlySent(d, 'connack');
  expect(connack.reasonCode).toBe(0);
  return connack;
}

describe.each([4, 5] as const)('CONNECT, protocol %i', (v) => {
  describe('accepted', () => {
    it('answers CONNACK 0 and records the connection and the session [MQTT-3.2.0-1]', () => {
      const d = connect(v, { will: will() });
      const connack = expectAccepted(d);
      expect(connack.sessionPresent).toBe(false);
      expect(d.protocolVersion).toBe(v);
      expect(d.state).toMatchObject({ status: 'mqtt', protocolVersion: v, clientId: 'sensor-1', username: 'alice' });
      expect(d.intents.map((i) => i.kind)).toEqual(['session.claim', 'connection.markConnected']);
      expect(intentOf(d, 'session.claim')).toMatchObject({
        clientId: 'sensor-1',
        clientIdAssigned: false,
        connectionId: CONNECTION_ID,
        protocolVersion: v,
        cleanStart: true,
        sessionExpiryInterval: 0,
        requestTimeEpoch: REQUEST_TIME,
      });
      const marked = intentOf(d, 'connection.markConnected');
      expect(marked).toMatchObject({ connectionId: CONNECTION_ID, connectedAt: NOW });
      expect(marked?.connection).toMatchObject({ clientId: 'sensor-1', keepAlive: 60, will: will(), principal: null });
    });

    it('records the principal the authenticator vouched for', () => {
      const d = connect(v, {}, { connect: { auth: { ok: true, principal: 'user:42' } } });
      expect(intentOf(d, 'connection.markConnected')?.connection.principal).toBe('user:42');
    });

    it('accepts a client id of 23 alphanumerics [MQTT-3.1.3-5]', () => {
      expectAccepted(connect(v, { clientId: 'abcdefghijklmnopqrstuvw' }));
    });

    it('accepts a client id of exactly maximumClientIdLength characters, counted as code points', () => {
      const id = '\u{1F600}'.repeat(30);
      expectAccepted(connect(v, { clientId: id }, { config: { maximumClientIdLength: 30 } }));
    });
  });

  describe('protocol name and level [MQTT-3.1.2-1] [MQTT-3.1.2-2]', () => {
    it('refuses MQIsdp with a level other than 3: CONNACK 0x84 (3.1.1: return code 1)', () => {
      expectRefused(connect(v, { protocolName: 'MQIsdp' }), v, 0x84, 1);
    });

    it('refuses an unknown protocol level with a 3.1.1-form CONNACK, return code 1 [MQTT-3.1.2-2]', () => {
      const d = connect(v, { protocolVersion: 6 as ProtocolVersion });
      expect(d.protocolVersion).toBe(4);
      expect(onlySent(d, 'connack').reasonCode).toBe(1);
      expect(d.close?.reason).toBe('connect-refused');
    });
  });

  describe('client identifier', () => {
    it('assigns an id derived from the connection id to an empty id with clean start [MQTT-3.1.3-6]', () => {
      const d = connect(v, { clientId: '' });
      const connack = expectAccepted(d);
      const assigned = `auto-${CONNECTION_ID}`;
      expect(intentOf(d, 'session.claim')).toMatchObject({ clientId: assigned, clientIdAssigned: true });
      expect(d.state).toMatchObject({ clientId: assigned, clientIdAssigned: true });
      // [MQTT-3.1.3-7] [MQTT-3.2.2-16]: v5 returns it; 3.1.1 has no properties
      expect(connack.properties?.assignedClientIdentifier).toBe(v === 5 ? assigned : undefined);
    });

    it('uses ctx.assignClientId when the runtime provides one [MQTT-3.1.3-6]', () => {
      const d = connect(v, { clientId: '' }, { assignClientId: () => 'gen-7' });
      expect(intentOf(d, 'session.claim')?.clientId).toBe('gen-7');
    });

    it('refuses an empty id when allowEmptyClientId is false: 0x85 / return code 2 [MQTT-3.1.3-8] [MQTT-3.1.3-9]', () => {
      expectRefused(connect(v, { clientId: '' }, { config: { allowEmptyClientId: false } }), v, 0x85, 2);
    });

    it('refuses an id longer than maximumClientIdLength: 0x85 / return code 2 [MQTT-3.1.3-8] [MQTT-3.1.3-9]', () => {
      expectRefused(connect(v, { clientId: 'x'.repeat(257) }), v, 0x85, 2);
      expectRefused(connect(v, { clientId: 'x'.repeat(31) }, { config: { maximumClientIdLength: 30 } }), v, 0x85, 2);
    });
  });

  describe('will', () => {
    it('refuses a will topic with a wildcard: 0x90; 3.1.1 has no return code, so close [MQTT-3.3.2-2]', () => {
      expectRefused(connect(v, { will: will({ topic: 'a/+/b' }) }), v, 0x90, 'close');
    });

    it('refuses an empty will topic: 0x90 / close [MQTT-4.7.3-1]', () => {
      expectRefused(connect(v, { will: will({ topic: '' }) }), v, 0x90, 'close');
    });

    it('refuses a will QoS above Maximum QoS: 0x9B / close [MQTT-3.2.2-12]', () => {
      expectRefused(connect(v, { will: will({ qos: 2 }) }, { config: { maximumQoS: 1 } }), v, 0x9b, 'close');
      expectAccepted(connect(v, { will: will({ qos: 1 }) }, { config: { maximumQoS: 1 } }));
    });

    it('refuses a retained will when Retain Available is false: 0x9A / close [MQTT-3.2.2-13]', () => {
      expectRefused(connect(v, { will: will({ retain: true }) }, { config: { retainAvailable: false } }), v, 0x9a, 'close');
      expectAccepted(connect(v, { will: will({ retain: false }) }, { config: { retainAvailable: false } }));
    });
  });

  describe('authentication [MQTT-3.1.4-2]', () => {
    it('maps bad credentials to 0x86 / return code 4', () => {
      expectRefused(connect(v, {}, { connect: { auth: { ok: false, reason: 'bad-credentials' } } }), v, 0x86, 4);
    });

    it('maps not authorized to 0x87 / return code 5', () => {
      expectRefused(connect(v, {}, { connect: { auth: { ok: false, reason: 'not-authorized' } } }), v, 0x87, 5);
    });

    it('refuses an anonymous client when allowAnonymous is false: 0x87 / return code 5', () => {
      expectRefused(connect(v, { username: undefined, password: undefined }), v, 0x87, 5);
    });

    it('accepts an anonymous client when allowAnonymous is true', () => {
      expectAccepted(connect(v, { username: undefined }, { config: { allowAnonymous: true } }));
    });

    it('accepts a client without user name that the authenticator identified (e.g. a $connect token)', () => {
      expectAccepted(connect(v, { username: undefined }, { connect: { auth: { ok: true, principal: 'token:9' } } }));
    });
  });

  describe('session', () => {
    const live = { existingSession: { expiresAt: NOW + 1000 } };

    it(`discards an existing session with clean start 1: Session Present 0 [${v === 5 ? 'MQTT-3.2.2-2' : 'MQTT-3.2.2-1'}]`, () => {
      const d = connect(v, { clean: true }, { connect: live });
      expect(expectAccepted(d).sessionPresent).toBe(false);
      expect(intentOf(d, 'session.claim')).toMatchObject({ cleanStart: true });
    });

    it(`resumes a live session with clean start 0: Session Present 1 [${v === 5 ? 'MQTT-3.2.2-3' : 'MQTT-3.2.2-2'}]`, () => {
      const d = connect(v, { clean: false }, { connect: live });
      expect(expectAccepted(d).sessionPresent).toBe(true);
      expect(intentOf(d, 'session.claim')).toMatchObject({ cleanStart: false });
    });

    it('resumes a session that never expires (expiresAt null)', () => {
      const d = connect(v, { clean: false }, { connect: { existingSession: { expiresAt: null } } });
      expect(expectAccepted(d).sessionPresent).toBe(true);
    });

    it(`starts a new session when none exists: Session Present 0 [${v === 5 ? 'MQTT-3.2.2-3' : 'MQTT-3.2.2-3'}]`, () => {
      const d = connect(v, { clean: false });
      expect(expectAccepted(d).sessionPresent).toBe(false);
      expect(intentOf(d, 'session.claim')).toMatchObject({ cleanStart: false });
    });

    it('treats a session whose expiry has passed (TTL not yet applied) as absent', () => {
      const d = connect(v, { clean: false }, { connect: { existingSession: { expiresAt: NOW } } });
      expect(expectAccepted(d).sessionPresent).toBe(false);
    });

    it(`sets Session Present 0 on a refusal even when a session exists [${v === 5 ? 'MQTT-3.2.2-6' : 'MQTT-3.2.2-4'}]`, () => {
      const d = connect(v, { clean: false }, { connect: { ...live, auth: { ok: false, reason: 'not-authorized' } } });
      expect(onlySent(d, 'connack').sessionPresent).toBe(false);
    });
  });

  it('a CONNECT decided without ctx.connect is a runtime defect: refused with 0x83 (3.1.1: closed)', () => {
    const ctx: BrokerContext = makeCtx({ connect: null });
    const d = handlePacket(connectPacket(v), OPEN, ctx);
    expect(d.send).toEqual(v === 5 ? [{ type: 'connack', sessionPresent: false, reasonCode: 0x83 }] : []);
    expect(d.close).toEqual({ reason: 'connect-refused', reasonCode: 0x83 });
    expect(d.intents).toEqual([]);
  });
});

describe('CONNECT, protocol 4 only', () => {
  it('refuses an empty client id with Clean Session 0: return code 2 [MQTT-3.1.3-8]', () => {
    expectRefused(connect(4, { clientId: '', clean: false }), 4, 0x85, 2);
  });

  it('gives a persistent session the configured lifetime, a clean one 0', () => {
    const config = { maximumSessionExpiryInterval: 3600 };
    expect(intentOf(connect(4, { clean: false }, { config }), 'session.claim')?.sessionExpiryInterval).toBe(3600);
    expect(intentOf(connect(4, { clean: true }, { config }), 'session.claim')?.sessionExpiryInterval).toBe(0);
  });

  it('keeps the client Keep Alive and sends no CONNACK properties', () => {
    const d = connect(4, { keepAlive: 0 });
    expect(expectAccepted(d).properties).toBeUndefined();
    expect(d.state).toMatchObject({ keepAlive: 0 });
  });
});

describe('CONNECT, protocol 3 (MQIsdp)', () => {
  it('accepts an MQTT 3.1 CONNECT and answers CONNACK 0', () => {
    const d = connect(3);
    expect(expectAccepted(d).properties).toBeUndefined();
    expect(d.protocolVersion).toBe(3);
    expect(d.state).toMatchObject({ status: 'mqtt', protocolVersion: 3 });
  });

  it('resumes a session but sends no Session Present flag (3.1 has none)', () => {
    const d = connect(3, { clean: false }, { connect: { existingSession: { expiresAt: null } } });
    expect(expectAccepted(d).sessionPresent).toBe(false);
    expect(intentOf(d, 'session.claim')).toMatchObject({ cleanStart: false });
  });

  it('accepts 23 characters and refuses 24 with return code 2 (3.1: 1 to 23 characters)', () => {
    expectAccepted(connect(3, { clientId: 'a'.repeat(23) }));
    expectRefused(connect(3, { clientId: 'a'.repeat(24) }), 3, 0x85, 2);
  });

  it('refuses an empty client id with return code 2 (3.1: 1 to 23 characters)', () => {
    expectRefused(connect(3, { clientId: '' }), 3, 0x85, 2);
  });

  it('refuses MQTT-named level 3 with return code 1 [MQTT-3.1.2-2]', () => {
    expectRefused(connect(3, { protocolName: 'MQTT' }), 3, 0x84, 1);
  });
});

describe('CONNECT, protocol 5 only', () => {
  it('assigns an id to an empty client id with Clean Start 0, without resuming [MQTT-3.1.3-6] [MQTT-3.2.2-16]', () => {
    const d = connect(5, { clientId: '', clean: false }, { connect: { existingSession: { expiresAt: null } } });
    const connack = expectAccepted(d);
    expect(connack.sessionPresent).toBe(false);
    expect(connack.properties?.assignedClientIdentifier).toBe(`auto-${CONNECTION_ID}`);
  });

  it('refuses an Authentication Method: 0x8C [MQTT-4.12.0-1]', () => {
    expectRefused(connect(5, { properties: { authenticationMethod: 'SCRAM-SHA-1' } }), 5, 0x8c, 'close');
  });

  it('refuses a Receive Maximum or Maximum Packet Size of 0: 0x82 (MQTT 5.0 3.1.2.11.3, 3.1.2.11.4)', () => {
    expectRefused(connect(5, { properties: { receiveMaximum: 0 } }), 5, 0x82, 'close');
    expectRefused(connect(5, { properties: { maximumPacketSize: 0 } }), 5, 0x82, 'close');
  });

  it('records the client limits from CONNECT properties', () => {
    const d = connect(5, { properties: { receiveMaximum: 10, maximumPacketSize: 4096, topicAliasMaximum: 5 } });
    expect(d.state).toMatchObject({ clientLimits: { receiveMaximum: 10, maximumPacketSize: 4096, topicAliasMaximum: 5 } });
    const defaults = connect(5);
    expect(defaults.state).toMatchObject({ clientLimits: { receiveMaximum: 65535, maximumPacketSize: null, topicAliasMaximum: 0 } });
  });

  describe('Session Expiry Interval', () => {
    it('is 0 when absent, and the CONNACK does not repeat it', () => {
      const d = connect(5);
      expect(intentOf(d, 'session.claim')?.sessionExpiryInterval).toBe(0);
      expect(expectAccepted(d).properties?.sessionExpiryInterval).toBeUndefined();
    });

    it('is granted as requested within the maximum', () => {
      const d = connect(5, { properties: { sessionExpiryInterval: 3600 } });
      expect(intentOf(d, 'session.claim')?.sessionExpiryInterval).toBe(3600);
      expect(expectAccepted(d).properties?.sessionExpiryInterval).toBeUndefined();
    });

    it('is clamped to the maximum, and the CONNACK tells the client (3.2.2.3.2)', () => {
      const d = connect(5, { properties: { sessionExpiryInterval: 0xffffffff } }, { config: { maximumSessionExpiryInterval: 86400 } });
      expect(intentOf(d, 'session.claim')?.sessionExpiryInterval).toBe(86400);
      expect(d.state).toMatchObject({ sessionExpiryInterval: 86400 });
      expect(expectAccepted(d).properties?.sessionExpiryInterval).toBe(86400);
    });
  });

  describe('Keep Alive', () => {
    it('keeps a client Keep Alive within Server Keep Alive, and states it in every CONNACK as Server Keep Alive [MQTT-3.2.2-21] [MQTT-3.2.2-22]', () => {
      for (const keepAlive of [1, 60, 540]) {
        const d = connect(5, { keepAlive });
        expect(expectAccepted(d).properties?.serverKeepAlive).toBe(keepAlive);
        expect(d.state).toMatchObject({ keepAlive });
      }
    });

    it('imposes Server Keep Alive 540 on a Keep Alive of 0 or above it [MQTT-3.2.2-21]', () => {
      for (const keepAlive of [0, 541, 3600]) {
        const d = connect(5, { keepAlive });
        expect(expectAccepted(d).properties?.serverKeepAlive).toBe(540);
        expect(d.state).toMatchObject({ keepAlive: 540 });
      }
    });

    it('imposes nothing when serverKeepAlive is null', () => {
      const d = connect(5, { keepAlive: 0 }, { config: { serverKeepAlive: null } });
      expect(expectAccepted(d).properties?.serverKeepAlive).toBeUndefined();
      expect(d.state).toMatchObject({ keepAlive: 0 });
    });
  });

  describe('CONNACK properties', () => {
    it('with the default config carries only Maximum Packet Size, Receive Maximum and the Keep Alive in force', () => {
      expect(expectAccepted(connect(5)).properties).toEqual({ maximumPacketSize: 98304, receiveMaximum: 64, serverKeepAlive: 60 });
    });

    it('carries every capability that differs from its absent meaning [MQTT-3.2.2-9]', () => {
      const config = {
        maximumPacketSize: 32768,
        receiveMaximum: 65535,
        topicAliasMaximum: 10,
        retainAvailable: false,
        wildcardSubscriptionAvailable: false,
        sharedSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: false,
        maximumQoS: 1 as const,
      };
      expect(expectAccepted(connect(5, {}, { config })).properties).toEqual({
        maximumPacketSize: 32768,
        topicAliasMaximum: 10,
        retainAvailable: 0,
        wildcardSubscriptionAvailable: 0,
        sharedSubscriptionAvailable: 0,
        subscriptionIdentifiersAvailable: 0,
        maximumQoS: 1,
        serverKeepAlive: 60,
      });
    });

    it('sends Maximum QoS 0 when QoS 1 and 2 are not supported [MQTT-3.2.2-9]', () => {
      expect(expectAccepted(connect(5, {}, { config: { maximumQoS: 0 } })).properties?.maximumQoS).toBe(0);
    });
  });
});
