/**
 * Malformed packets and Protocol Errors after CONNACK, as raw bytes, for MQTT 3.1.1 and 5.0. The
 * server closes the connection [MQTT-4.13.1-1]; a v5 client is told why first, with DISCONNECT
 * 0x81 Malformed Packet or 0x82 Protocol Error [MQTT-3.14.2-1]; a 3.1.1 client is just closed.
 * Other connections are not affected.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion } from '../../lib/mqtt';
import { RawClient } from '../helpers/raw-client';
import { CLOSED_BY_SERVER, VERSIONS, connected, useBroker } from './scenario';

const broker = useBroker();

const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;

/** A UTF-8 string field: two length bytes, then the bytes. */
const str = (bytes: number[]): number[] => [bytes.length >> 8, bytes.length & 0xff, ...bytes];
const ascii = (s: string): number[] => [...Buffer.from(s)];

/** A packet: first byte, one-byte Remaining Length, body (v5 bodies carry their property length). */
const frame = (first: number, body: number[]): Uint8Array => Uint8Array.from([first, body.length, ...body]);

/** Sends `bytes` on a connected client and asserts the close, and what came before it. */
async function expectClosed(version: ProtocolVersion, bytes: Uint8Array, v5Reason: number): Promise<RawClient> {
  const raw = await connected(broker(), version);
  await raw.sendBytes(bytes);
  expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
  expect(raw.packets.slice(1)).toEqual(version === 5 ? [{ type: 'disconnect', reasonCode: v5Reason }] : []);
  return raw;
}

describe.each(VERSIONS)('malformed packets and protocol errors, protocol %i', (version) => {
  const v5 = version === 5;
  /** The property length byte of an empty v5 property block; nothing in 3.1.1. */
  const noProps = v5 ? [0] : [];

  it('closes on reserved fixed-header flags that are not as specified (SUBSCRIBE 0x80) [MQTT-2.1.3-1] [MQTT-3.8.1-1]', async () => {
    await expectClosed(version, frame(0x80, [0, 1, ...noProps, ...str(ascii('a')), 0]), MALFORMED);
  });

  it('closes on PUBREL whose reserved flags are 0000 [MQTT-3.6.1-1]', async () => {
    await expectClosed(version, frame(0x60, [0, 1]), MALFORMED);
  });

  it('closes on a QoS 1 PUBLISH with Packet Identifier 0 [MQTT-2.2.1-3]', async () => {
    await expectClosed(version, frame(0x32, [...str(ascii('a/b')), 0, 0, ...noProps, 0x78]), PROTOCOL_ERROR);
  });

  it('closes on a PUBLISH with both QoS bits set [MQTT-3.3.1-4]', async () => {
    await expectClosed(version, frame(0x36, [...str(ascii('a/b')), 0, 1, ...noProps, 0x78]), MALFORMED);
  });

  it('closes on a Topic Name that is not well-formed UTF-8 [MQTT-1.5.4-1] [MQTT-3.3.2-1]', async () => {
    await expectClosed(version, frame(0x30, [...str([0x61, 0xed, 0xa0, 0x80]), ...noProps]), MALFORMED);
  });

  it('closes on a Topic Name containing U+0000 [MQTT-1.5.4-2] [MQTT-4.7.3-2]', async () => {
    await expectClosed(version, frame(0x30, [...str([0x61, 0x00, 0x62]), ...noProps]), MALFORMED);
  });

  it('closes on a SUBSCRIBE without any Topic Filter [MQTT-3.8.3-2]', async () => {
    await expectClosed(version, frame(0x82, [0, 1, ...noProps]), v5 ? PROTOCOL_ERROR : MALFORMED);
  });

  it('closes on an UNSUBSCRIBE without any Topic Filter [MQTT-3.10.3-2]', async () => {
    await expectClosed(version, frame(0xa2, [0, 1, ...noProps]), v5 ? PROTOCOL_ERROR : MALFORMED);
  });

  it('closes on a Remaining Length that disagrees with the bytes of the message (a cut packet)', async () => {
    await expectClosed(version, Uint8Array.from([0x30, 0x0a, 0x00, 0x03, 0x61]), MALFORMED);
  });

  it('closes on a Remaining Length not encoded in the fewest bytes [MQTT-1.5.5-1]', async () => {
    await expectClosed(version, Uint8Array.from([0xc0, 0x80, 0x00]), MALFORMED);
  });

  it('closes on packet type 0, which is reserved (MQTT 5.0 section 2.1.2)', async () => {
    await expectClosed(version, Uint8Array.from([0x00, 0x00]), MALFORMED);
  });

  it('closes on a packet only a server sends (SUBACK) as a Protocol Error (MQTT 5.0 section 4.13)', async () => {
    await expectClosed(version, frame(0x90, [0, 1, ...noProps, 0]), PROTOCOL_ERROR);
  });

  it('closes on a WebSocket message that is not base64, as a malformed packet', async () => {
    const raw = await connected(broker(), version);
    await raw.sendFrame('not base64 at all!');
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets.slice(1)).toEqual(v5 ? [{ type: 'disconnect', reasonCode: MALFORMED }] : []);
  });

  it('closes only the offending connection: another one still gets its PINGRESP', async () => {
    const bystander = await connected(broker(), version);
    await expectClosed(version, Uint8Array.from([0xc0, 0x01, 0x00]), MALFORMED);
    await bystander.send({ type: 'pingreq' });
    expect(await bystander.next('pingresp')).toEqual({ type: 'pingresp' });
  });

  it('closes, before CONNECT, on bytes that are no MQTT at all, without answering [MQTT-3.1.4-1]', async () => {
    const raw = await RawClient.open(broker().url, version);
    await raw.sendBytes(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets).toEqual([]);
  });
});

describe('malformed packets and protocol errors, protocol 5 only', () => {
  it('closes on a DISCONNECT whose reserved flags are set: DISCONNECT 0x81 [MQTT-3.14.1-1]', async () => {
    await expectClosed(5, Uint8Array.from([0xe1, 0x00]), MALFORMED);
  });

  it('closes on Subscription Options with reserved bits set: DISCONNECT 0x81 [MQTT-3.8.3-5]', async () => {
    await expectClosed(5, frame(0x82, [0, 1, 0, ...str(ascii('a')), 0xc0]), MALFORMED);
  });

  it('closes on a property the packet may not carry (Session Expiry Interval in PUBLISH): DISCONNECT 0x81 (MQTT 5.0 section 2.2.2.2)', async () => {
    await expectClosed(5, frame(0x30, [...str(ascii('a')), 5, 0x11, 0, 0, 0, 1]), MALFORMED);
  });
});
