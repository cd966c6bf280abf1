import { afterEach, describe, expect, it } from 'vitest';
import { pattern, sameBytes } from '../../unit/gateway/delivery-contract';
import { cleanup, openClient, startGateway } from './helpers';

afterEach(cleanup);

describe('lenient mode (npm start): stock MQTT-over-WebSocket clients', () => {
  it('accepts binary frames and answers in binary [MQTT-6.0.0-1]', async () => {
    const { address, recorder } = await startGateway({ strict: false });
    const client = await openClient(address.url);
    client.ws.send(Buffer.from([0xc0, 0x00]), { binary: true });
    expect(await client.bytes(2)).toEqual(Buffer.from([0xc0, 0x00]));
    expect(Buffer.isBuffer(client.received[0])).toBe(true);
    expect(recorder.messages[0]).toMatchObject({ body: 'wAA=', isBase64Encoded: true });
  });

  it('hands the handlers whole packets when a client writes a packet a field per frame', async () => {
    const { address, recorder } = await startGateway({ strict: false });
    const client = await openClient(address.url);
    const connect = Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61]);
    for (const [from, to] of [[0, 1], [1, 2], [2, 8], [8, 15]] as const) {
      client.ws.send(connect.subarray(from, to), { binary: true });
    }
    expect(await client.bytes(connect.length)).toEqual(connect);
    expect(recorder.messages).toHaveLength(1);
    expect(Buffer.from(recorder.messages[0]!.body, 'base64')).toEqual(connect);
  });

  it('accepts a binary frame over 32 KB', async () => {
    const { address } = await startGateway({ strict: false });
    const client = await openClient(address.url);
    const data = Buffer.concat([Buffer.from([0x30, 0xbc, 0xb8, 0x02]), pattern(39_996)]); // a 40 KB PUBLISH: remaining length 39996
    client.ws.send(data, { binary: true });
    expect(sameBytes(await client.bytes(data.length), data)).toBe(true);
    expect(client.received.length).toBe(1); // a binary post holds whole packets, never cut
  });

  it('keeps text connections in text', async () => {
    const { address } = await startGateway({ strict: false });
    const client = await openClient(address.url);
    client.ws.send('wAA=');
    expect(await client.bytes(2)).toEqual(Buffer.from([0xc0, 0x00]));
    expect(client.received[0]).toBe('wAA=');
  });
});
