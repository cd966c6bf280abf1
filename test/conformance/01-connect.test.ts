/**
 * CONNECT and CONNACK, PINGREQ, keep alive and session takeover, byte by byte, for MQTT 3.1.1
 * and 5.0. A refused or broken connection is closed by the server (close code 1005, the
 * `@connections` DELETE); the scenarios assert exactly what came before the close.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { encode, type ConnackPacket, type ProtocolVersion } from '../../lib/mqtt';
import { RawClient, connectPacket } from '../helpers/raw-client';
import { CLOSED_BY_SERVER, VERSIONS, clientId, connected, useBroker } from './scenario';

const broker = useBroker();

/** The CONNECT's bytes for `version`; CONNECT is small, so its Remaining Length takes one byte. */
function connectBytes(version: ProtocolVersion, fields = {}): Buffer {
  return Buffer.from(encode(connectPacket(version, fields), version));
}
/** Offsets in those bytes: protocol name 'MQTT' at 4..7, level at 8, connect flags at 9. */
const NAME_LAST_BYTE = 7;
const CONNECT_FLAGS = 9;

describe.each(VERSIONS)('CONNECT, protocol %i', (version) => {
  const v5 = version === 5;

  it('answers an acceptable CONNECT with CONNACK 0x00 and Session Present 0, its first packet [MQTT-3.2.0-1] [MQTT-3.1.4-5] [MQTT-3.2.2-2]', async () => {
    const raw = await RawClient.open(broker().url, version);
    await raw.send(connectPacket(version));
    await raw.next('connack');
    const expected: ConnackPacket = v5
      ? { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { maximumPacketSize: 98_304, receiveMaximum: 64, serverKeepAlive: 60 } }
      : { type: 'connack', sessionPresent: false, reasonCode: 0 };
    expect(raw.packets).toEqual([expected]);
  });

  it('closes a connection whose first packet is not CONNECT, without answering [MQTT-3.1.0-1]', async () => {
    const raw = await RawClient.open(broker().url, version);
    await raw.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/b', qos: 0, ...(v5 ? { noLocal: false, retainAsPublished: false, retainHandling: 0 } : {}) }] });
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets).toEqual([]);
  });

  it('treats a second CONNECT as a Protocol Error: no second CONNACK, DISCONNECT 0x82 in v5, then close [MQTT-3.1.0-2] [MQTT-3.2.0-2]', async () => {
    const raw = await connected(broker(), version);
    await raw.send(connectPacket(version));
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    const after = raw.packets.slice(1);
    expect(after).toEqual(v5 ? [{ type: 'disconnect', reasonCode: 0x82 }] : []);
  });

  it('refuses an unknown protocol name: CONNACK return code 0x01 (the form every version reads), then close [MQTT-3.1.2-1]', async () => {
    // Read as 3.1.1: a client whose protocol is unknown gets the answer every version can parse.
    const raw = await RawClient.open(broker().url, 4);
    const bytes = connectBytes(version);
    bytes[NAME_LAST_BYTE] = 0x58; // 'MQTX'
    await raw.sendBytes(bytes);
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets).toEqual([{ type: 'connack', sessionPresent: false, reasonCode: 1 }]);
  });

  it('treats a CONNECT whose reserved flag is 1 as malformed: closed without CONNACK [MQTT-3.1.2-3] [MQTT-4.13.1-1]', async () => {
    const raw = await RawClient.open(broker().url, version);
    const bytes = connectBytes(version);
    bytes[CONNECT_FLAGS] |= 0x01;
    await raw.sendBytes(bytes);
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets).toEqual([]);
  });

  it('assigns a unique client id to an empty one with Clean Start 1; v5 returns it in the CONNACK [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]', async () => {
    const first = await RawClient.open(broker().url, version);
    const second = await RawClient.open(broker().url, version);
    const [a, b] = await Promise.all([first.connect({ clientId: '' }), second.connect({ clientId: '' })]);
    expect([a.reasonCode, b.reasonCode]).toEqual([0, 0]);
    if (v5) {
      expect(a.properties?.assignedClientIdentifier).toMatch(/.+/);
      expect(b.properties?.assignedClientIdentifier).toMatch(/.+/);
      expect(a.properties?.assignedClientIdentifier).not.toBe(b.properties?.assignedClientIdentifier);
    } else {
      expect([a.properties, b.properties]).toEqual([undefined, undefined]);
    }
  });

  it('refuses a client id it does not allow (longer than 256): CONNACK 0x85 (v5) / return code 0x02, Session Present 0, then close [MQTT-3.1.3-8] [MQTT-3.2.2-6] [MQTT-3.2.2-7]', async () => {
    const raw = await RawClient.open(broker().url, version);
    const connack = await raw.connect({ clientId: 'x'.repeat(257) });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: v5 ? 0x85 : 0x02 });
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets).toHaveLength(1);
  });

  it('answers PINGREQ with PINGRESP [MQTT-3.12.4-1]', async () => {
    const raw = await connected(broker(), version);
    await raw.send({ type: 'pingreq' });
    await raw.next('pingresp');
    await raw.send({ type: 'pingreq' }, { type: 'pingreq' });
    await raw.until(() => raw.of('pingresp').length === 3);
    expect(raw.packets.map((p) => p.type)).toEqual(['connack', 'pingresp', 'pingresp', 'pingresp']);
  });

  it('takes over a connected client id: DISCONNECT 0x8E (v5) to the old connection, which is closed [MQTT-3.1.4-3]', async () => {
    const id = clientId('takeover');
    const old = await connected(broker(), version, { clientId: id });
    const fresh = await connected(broker(), version, { clientId: id });
    expect(await old.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(old.packets.slice(1)).toEqual(v5 ? [{ type: 'disconnect', reasonCode: 0x8e }] : []);
    await fresh.send({ type: 'pingreq' });
    await fresh.next('pingresp');
    expect(fresh.isClosed).toBe(false);
  });

  it('closes a connection that sends nothing for one and a half times its Keep Alive [MQTT-3.1.2-22]', async () => {
    const silent = await connected(broker(), version, { keepAlive: 1 });
    await sleep(1_700);
    // On AWS the scheduled sweeper finds it, from API Gateway's LastActiveAt; here it runs now.
    await broker().sweep();
    expect(await silent.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(silent.packets.map((p) => p.type)).toEqual(['connack']);
  });
});

describe('CONNECT, protocol 5 only', () => {
  it('refuses an Authentication Method it does not support: CONNACK 0x8C, then close [MQTT-4.12.0-1]', async () => {
    const raw = await RawClient.open(broker().url, 5);
    const connack = await raw.connect({ properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    expect(connack).toEqual({ type: 'connack', sessionPresent: false, reasonCode: 0x8c });
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
  });

  it('imposes its Server Keep Alive on a client that asks for none [MQTT-3.2.2-21]', async () => {
    const raw = await RawClient.open(broker().url, 5);
    const connack = await raw.connect({ keepAlive: 0 });
    expect(connack.properties?.serverKeepAlive).toBe(540);
  });

  it('treats AUTH from a client that sent no Authentication Method as a Protocol Error: DISCONNECT 0x82 [MQTT-4.12.0-7]', async () => {
    const raw = await connected(broker(), 5);
    await raw.send({ type: 'auth', reasonCode: 0x19 });
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets.slice(1)).toEqual([{ type: 'disconnect', reasonCode: 0x82 }]);
  });
});
