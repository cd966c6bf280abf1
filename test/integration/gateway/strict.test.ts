import { PayloadTooLargeException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import { packetOfSize, sameBytes } from '../../unit/gateway/delivery-contract';
import type { MessageAction } from './helpers';
import { b64, cleanup, echo, openClient, startGateway } from './helpers';
import { FRAGMENT_PAYLOAD_BYTES, POST_LIMIT_CHARS } from '../../../lib/api-gateway';

afterEach(cleanup);

/** On [0x01], pushes a packet of `size` bytes to the sender; otherwise echoes. */
function pushOnRequest(size: number): MessageAction {
  return async (event, bytes, delivery) => {
    if (bytes.length === 1 && bytes[0] === 0x01) {
      await delivery.send(event.requestContext.connectionId, packetOfSize(size, 3), 'text');
    } else {
      await echo(event, bytes, delivery);
    }
  };
}

describe('strict mode: frames from the client', () => {
  it('closes with 1003 on a binary frame, and no handler sees it', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    client.ws.send(Buffer.from([0xc0, 0x00]), { binary: true });
    expect((await client.closed).code).toBe(1003);
    await gateway.stop();
    expect(recorder.messages).toHaveLength(0);
    expect(recorder.disconnects[0]?.requestContext.disconnectStatusCode).toBe(1003);
  });

  it('accepts a frame of exactly 32 KB', async () => {
    const { address } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const data = packetOfSize(24 * 1024); // base64: exactly 32768 characters
    client.ws.send(b64(data));
    expect(sameBytes(await client.bytes(data.length), data)).toBe(true);
  });

  it('closes with 1009 on a frame one byte over 32 KB', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    client.ws.send('A'.repeat(32 * 1024 + 1));
    expect((await client.closed).code).toBe(1009);
    await gateway.stop();
    expect(recorder.messages).toHaveLength(0);
  });

  it('accepts a fragmented message of small frames under 128 KB', async () => {
    const { address, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const text = b64(packetOfSize(90_000)); // 120000 characters in 4 frames of 30000
    for (let i = 0; i < 4; i += 1) client.ws.send(text.slice(i * 30_000, (i + 1) * 30_000), { fin: i === 3 });
    expect(sameBytes(await client.bytes(90_000), packetOfSize(90_000))).toBe(true);
    expect(recorder.messages).toHaveLength(1);
  });

  it('closes with 1009 on a fragmented message over 128 KB, though each frame is small', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const frame = 'A'.repeat(30_000);
    for (let i = 0; i < 5; i += 1) client.ws.send(frame, { fin: i === 4 });
    expect((await client.closed).code).toBe(1009);
    await gateway.stop();
    expect(recorder.messages).toHaveLength(0);
  });

  it('closes with 1009 when one fragment is over 32 KB, though the message is small', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    client.ws.send('A'.repeat(1_000), { fin: false });
    client.ws.send('A'.repeat(40_000), { fin: true });
    expect((await client.closed).code).toBe(1009);
    await gateway.stop();
    expect(recorder.messages).toHaveLength(0);
  });
});

describe('strict mode: data to the client', () => {
  it('delivers a 100 KB packet intact in tagged fragments, and the connection stays open [MQTT-6.0.0-2]', async () => {
    const size = 100 * 1024;
    const { address } = await startGateway({ strict: true }, pushOnRequest(size));
    const client = await openClient(address.url);
    client.ws.send(b64(Buffer.from([0x01])));
    expect(sameBytes(await client.bytes(size), packetOfSize(size, 3))).toBe(true);
    expect(client.received).toHaveLength(Math.ceil(size / FRAGMENT_PAYLOAD_BYTES));
    expect(client.received.every((m) => typeof m === 'string' && m.length <= POST_LIMIT_CHARS)).toBe(true);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('closes the connection with 1009 when one post exceeds the 32 KB frame limit', async () => {
    const { address, client: sdk, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const id = recorder.connects[0]!.requestContext.connectionId;
    await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'A'.repeat(32 * 1024 + 4) }));
    expect((await client.closed).code).toBe(1009);
    expect(client.received).toHaveLength(0);
  });

  it('answers 413 PayloadTooLargeException to a post over 128 KB and keeps the connection', async () => {
    const { address, client: sdk, delivery, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const id = recorder.connects[0]!.requestContext.connectionId;
    const error = await sdk
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: new Uint8Array(128 * 1024 + 1) }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect((await delivery.send(id, Buffer.from([0xd0, 0x00]), 'text')).status).toBe('sent');
    expect(await client.bytes(2)).toEqual(Buffer.from([0xd0, 0x00]));
  });

  it('in process (the memory store\'s delivery): the same 1009 close over 32 KB, and PayloadTooLargeException over 128 KB', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true });
    const inProcess = gateway.managementClient();
    const client = await openClient(address.url);
    const id = recorder.connects[0]!.requestContext.connectionId;
    const error = await inProcess.send(new PostToConnectionCommand({ ConnectionId: id, Data: new Uint8Array(128 * 1024 + 1) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    await inProcess.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'A'.repeat(32 * 1024 + 4) }));
    expect((await client.closed).code).toBe(1009);
    expect(client.received).toHaveLength(0);
  });
});
