import { DeleteConnectionCommand, GetConnectionCommand, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { b64, cleanup, openClient, startGateway } from './helpers';

afterEach(cleanup);

describe('local gateway: connection lifetime', () => {
  it('closes an idle connection with 1001 and reports it to $disconnect', async () => {
    const { address, recorder } = await startGateway({ strict: true, idleTimeoutMs: 150 });
    const client = await openClient(address.url);
    expect((await client.closed).code).toBe(1001);
    await recorder.until(() => recorder.disconnects.length === 1);
    expect(recorder.disconnects[0]?.requestContext).toMatchObject({
      disconnectStatusCode: 1001,
      disconnectReason: 'Connection Idle Timeout',
    });
  });

  it('closes a connection at its maximum duration', async () => {
    const { address, recorder } = await startGateway({ strict: true, maxConnectionDurationMs: 200 });
    const client = await openClient(address.url);
    expect((await client.closed).code).toBe(1001);
    await recorder.until(() => recorder.disconnects.length === 1);
    expect(recorder.disconnects[0]?.requestContext.disconnectReason).toBe('Maximum Connection Duration Exceeded');
  });

  it('drops a frame that arrives after it closed the connection, and records it with the connection\'s User-Agent', async () => {
    const { address, gateway, recorder, client: sdk } = await startGateway({ strict: true });
    const ws = new WebSocket(address.url, 'mqtt', { headers: { 'user-agent': 'device-7' } });
    await new Promise((resolve) => ws.once('open', resolve));
    const id = recorder.connects[0]!.requestContext.connectionId;
    // The client reads nothing more, so it still takes the connection for open when it sends.
    const socket = (ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    await sdk.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect(await sdk.send(new GetConnectionCommand({ ConnectionId: id })).catch((e: unknown) => e)).toBeInstanceOf(GoneException);
    ws.send(b64(Uint8Array.of(0xe0, 0x00))); // a DISCONNECT, too late
    await recorder.until(() => recorder.logs.some((l) => l.msg === 'frame after the connection was closed: dropped'));
    socket.resume();
    ws.terminate();
    expect(recorder.messages).toHaveLength(0);
    expect(gateway.framesDroppedAfterClose()).toEqual([{ connectionId: id, userAgent: 'device-7', at: expect.any(Number), text: b64(Uint8Array.of(0xe0, 0x00)) }]);
  });

  it('never calls $disconnect when the drop rate is 1', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true, dropDisconnectRate: 1 });
    const client = await openClient(address.url);
    client.ws.close(1000);
    await client.closed;
    await recorder.until(() => recorder.logs.some((l) => l.msg === '$disconnect dropped'));
    await gateway.stop(); // waits for every handler already started
    expect(recorder.connects).toHaveLength(1);
    expect(recorder.disconnects).toHaveLength(0);
  });

  it('handles every message under jitter, with no ordering promised', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true, jitterMs: 20 });
    const client = await openClient(address.url);
    // 3-byte packets carrying i (type byte, Remaining Length 1, i): the echo posts whole packets only.
    for (let i = 0; i < 20; i += 1) client.ws.send(b64(Buffer.from([0xc0, 0x01, i])));
    const bytes = await client.bytes(60);
    expect([...bytes].filter((_, i) => i % 3 === 2).sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    const epochs = recorder.messages.map((m) => m.requestContext.requestTimeEpoch);
    expect(epochs).toHaveLength(20);
    await gateway.stop();
  });

  it('stop() closes clients with 1001 and waits for their $disconnect', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true });
    const clients = [await openClient(address.url), await openClient(address.url)];
    await gateway.stop();
    expect(recorder.disconnects).toHaveLength(2);
    for (const client of clients) expect((await client.closed).code).toBe(1001);
    expect(gateway.connectionIds()).toEqual([]);
  });
});
