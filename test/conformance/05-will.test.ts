/**
 * The Will Message, byte by byte, for MQTT 3.1.1 and 5.0: published when the connection ends
 * without a normal DISCONNECT (dropped, or closed by the server for a protocol error), discarded
 * after one, with its QoS, RETAIN flag and (v5) properties.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectPacket, ProtocolVersion, Will } from '../../lib/mqtt';
import { RawClient } from '../helpers/raw-client';
import { CLOSED_BY_SERVER, VERSIONS, connected, settle, subscribeOne, text, topic, useBroker } from './scenario';

const broker = useBroker();

function will(t: string, fields: Partial<Will> = {}): Will {
  return { topic: t, payload: Buffer.from('offline'), qos: 1, retain: false, ...fields };
}

/** A subscriber to `t` at `qos`. */
async function watch(version: ProtocolVersion, t: string, qos: 0 | 1 | 2 = 2): Promise<RawClient> {
  const watcher = await connected(broker(), version);
  await subscribeOne(watcher, t, qos);
  return watcher;
}

describe.each(VERSIONS)('Will Message, protocol %i', (version) => {
  const v5 = version === 5;
  const withWill = (w: Will, fields: Partial<ConnectPacket> = {}) => connected(broker(), version, { will: w, ...fields });

  it('publishes the will when the connection is lost without DISCONNECT, at the will QoS [MQTT-3.1.2-8] [MQTT-3.1.2-14]', async () => {
    const t = topic('lost');
    const watcher = await watch(version, t);
    const device = await withWill(will(t));
    await device.end();
    const got = await watcher.next('publish');
    expect(got).toMatchObject({ topic: t, qos: 1, retain: false });
    expect(text(got)).toBe('offline');
    await settle();
    expect(watcher.of('publish')).toHaveLength(1);
  });

  it('discards the will on DISCONNECT (v5: Reason Code 0x00) [MQTT-3.14.4-3] [MQTT-3.1.2-10]', async () => {
    const t = topic('normal');
    const watcher = await watch(version, t);
    const device = await withWill(will(t));
    await device.send({ type: 'disconnect', ...(v5 ? { reasonCode: 0 } : {}) });
    expect(await device.waitClosed()).toBe(CLOSED_BY_SERVER);
    await settle(800);
    expect(watcher.of('publish')).toEqual([]);
  });

  it('publishes the will when the server closes the connection for a malformed packet [MQTT-3.1.2-8] [MQTT-4.13.1-1]', async () => {
    const t = topic('broken');
    const watcher = await watch(version, t);
    const device = await withWill(will(t));
    await device.sendBytes(Uint8Array.from([0xc0, 0x01, 0x00])); // PINGREQ with a Remaining Length of 1
    expect(await device.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(device.packets.slice(1)).toEqual(v5 ? [{ type: 'disconnect', reasonCode: 0x81 }] : []);
    expect(text(await watcher.next('publish'))).toBe('offline');
  });

  it('publishes a will with Will Retain 1 as a retained message [MQTT-3.1.2-15]', async () => {
    const t = topic('retained');
    const device = await withWill(will(t, { retain: true, payload: Buffer.from('last words') }));
    await device.end();
    // A later subscriber receives it as a retained message, once the disconnect path has run.
    let got: RawClient | undefined;
    for (let attempt = 0; attempt < 20 && got === undefined; attempt++) {
      const sub = await connected(broker(), version);
      await subscribeOne(sub, t, 1);
      await settle(250);
      if (sub.of('publish').length > 0) got = sub;
    }
    expect(got?.of('publish').map((p) => [text(p), p.retain])).toEqual([['last words', true]]);
  });

  it('publishes a will with Will Retain 0 as a non-retained message: a later subscriber gets nothing [MQTT-3.1.2-14]', async () => {
    const t = topic('not-retained');
    const watcher = await watch(version, t);
    const device = await withWill(will(t));
    await device.end();
    await watcher.next('publish');
    const later = await connected(broker(), version);
    await subscribeOne(later, t, 1);
    await settle();
    expect(later.of('publish')).toEqual([]);
  });

  it('sends the will at the lower of the will QoS and the granted QoS [MQTT-3.8.4-8]', async () => {
    const t = topic('qos');
    const watcher = await watch(version, t, 0);
    const device = await withWill(will(t, { qos: 2 }));
    await device.end();
    expect((await watcher.next('publish')).qos).toBe(0);
  });

  it('refuses a CONNECT whose Will Topic has a wildcard: CONNACK 0x90 (v5), closed (3.1.1) [MQTT-3.3.2-2] [MQTT-3.1.4-1]', async () => {
    const device = await RawClient.open(broker().url, version);
    await device.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepAlive: 60, clientId: 'wild-will', will: will('conf/+/status') });
    expect(await device.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(device.packets).toEqual(v5 ? [{ type: 'connack', sessionPresent: false, reasonCode: 0x90 }] : []);
  });
});

describe('Will Message, protocol 5 only', () => {
  it('publishes the will on DISCONNECT with Reason Code 0x04 Disconnect with Will Message [MQTT-3.1.2-8]', async () => {
    const t = topic('asked');
    const watcher = await watch(5, t);
    const device = await connected(broker(), 5, { will: will(t) });
    await device.send({ type: 'disconnect', reasonCode: 0x04 });
    expect(text(await watcher.next('publish'))).toBe('offline');
  });

  it('forwards the will properties unaltered, User Properties in order [MQTT-3.1.3-10] [MQTT-3.3.2-20]', async () => {
    const t = topic('props');
    const watcher = await watch(5, t);
    const properties = { contentType: 'text/plain', userProperties: [['z', '1'], ['a', '2'], ['z', '3']] as [string, string][] };
    const device = await connected(broker(), 5, { will: will(t, { properties }) });
    await device.end();
    expect((await watcher.next('publish')).properties).toEqual(properties);
  });
});
