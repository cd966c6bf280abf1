import { GetConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import { headerValue } from '../../../lib/gateway/events';
import { HandshakeRefused, b64, cleanup, openClient, startGateway } from './helpers';

afterEach(cleanup);

describe('local gateway: $connect and the upgrade', () => {
  it('completes the upgrade echoing the chosen subprotocol [MQTT-6.0.0-4]', async () => {
    const { address, recorder } = await startGateway({ strict: true });
    const client = await openClient(`${address.url}?token=abc&x=1&x=2`, ['mqttv3.1', 'mqtt']);
    expect(client.ws.protocol).toBe('mqtt');
    const [event] = recorder.connects;
    expect(event?.requestContext).toMatchObject({ routeKey: '$connect', eventType: 'CONNECT', stage: 'mqtt' });
    expect(event?.requestContext.identity.sourceIp).toBe('127.0.0.1');
    expect(event?.queryStringParameters).toEqual({ token: 'abc', x: '2' });
    expect(event?.multiValueQueryStringParameters).toEqual({ token: ['abc'], x: ['1', '2'] });
    expect(headerValue(event!, 'sec-websocket-protocol')).toBe('mqttv3.1,mqtt');
  });

  it('accepts a legacy mqttv3.1 client', async () => {
    const { address } = await startGateway({ strict: true });
    const client = await openClient(address.url, 'mqttv3.1');
    expect(client.ws.protocol).toBe('mqttv3.1');
  });

  it.each([[['wamp']], [[]]])('refuses the handshake when %j is offered', async (protocols) => {
    const { address, gateway, recorder } = await startGateway({ strict: true });
    const error = await openClient(address.url, protocols).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRefused);
    expect((error as HandshakeRefused).status).toBe(400);
    expect(recorder.connects).toHaveLength(1);
    await gateway.stop();
    expect(recorder.disconnects).toHaveLength(0);
  });

  it('completes the upgrade only when the $connect handler returns', async () => {
    let release = (): void => {};
    let entered = (): void => {};
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    const { address, delivery } = await startGateway({ strict: true }, undefined, {
      connect: async () => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'mqtt' } };
      },
    });
    let opened = false;
    const opening = openClient(address.url).then((client) => {
      opened = true;
      return client;
    });
    await handlerEntered;
    await delivery.info('c29tZS1pZA=='); // a round trip through the gateway while $connect is pending
    expect(opened).toBe(false);
    release();
    expect((await opening).ws.protocol).toBe('mqtt');
  });

  it('answers 500 when the $connect handler throws, and keeps serving', async () => {
    let fail = true;
    const { address, recorder } = await startGateway({ strict: true }, undefined, {
      connect: async () => {
        if (fail) throw new Error('boom');
        return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'mqtt' } };
      },
    });
    const error = await openClient(address.url).catch((e: unknown) => e);
    expect((error as HandshakeRefused).status).toBe(500);
    expect(recorder.logs.some((l) => l.msg === 'handler failed' && l.route === 'connect')).toBe(true);
    fail = false;
    await expect(openClient(address.url)).resolves.toBeDefined();
  });

  it('refuses other paths with 404', async () => {
    const { address } = await startGateway({ strict: true });
    const error = await openClient(address.url.replace(/\/mqtt$/, '/other')).catch((e: unknown) => e);
    expect((error as HandshakeRefused).status).toBe(404);
  });
});

describe('local gateway: messages and @connections', () => {
  it('turns each message into a $default event and echoes through the real SDK client', async () => {
    const { address, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const bytes = Buffer.from([0xc0, 0x00]); // PINGREQ
    client.ws.send(b64(bytes));
    expect(await client.bytes(2)).toEqual(bytes);
    expect(typeof client.received[0]).toBe('string'); // text frames on AWS, both ways
    const [event] = recorder.messages;
    expect(event?.requestContext).toMatchObject({ routeKey: '$default', eventType: 'MESSAGE' });
    expect(event?.body).toBe('wAA=');
    expect(event?.isBase64Encoded).toBe(false);
    expect(event?.requestContext.requestTimeEpoch).toBeGreaterThanOrEqual(event!.requestContext.connectedAt);
  });

  it('GET returns the connection info', async () => {
    const { address, client: sdk, recorder } = await startGateway({ strict: true });
    await openClient(address.url);
    const id = recorder.connects[0]!.requestContext.connectionId;
    const info = await sdk.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.ConnectedAt!.getTime()).toBe(recorder.connects[0]!.requestContext.connectedAt);
    expect(info.Identity?.SourceIp).toBe('127.0.0.1');
  });

  it('answers 410 GoneException for a closed connection and for an unknown one', async () => {
    const { address, client: sdk, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const id = recorder.connects[0]!.requestContext.connectionId;
    client.ws.close(1000, 'bye');
    await client.closed;
    await recorder.until(() => recorder.disconnects.length === 1);
    for (const connectionId of [id, 'dW5rbm93bi1pZA==']) {
      const error = await sdk
        .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'wAA=' }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
  });

  it('passes the client close code and reason to $disconnect', async () => {
    const { address, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    client.ws.close(4000, 'bye');
    await recorder.until(() => recorder.disconnects.length === 1);
    expect(recorder.disconnects[0]?.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: 4000,
      disconnectReason: 'bye',
      connectionId: recorder.connects[0]?.requestContext.connectionId,
    });
  });

  it('DELETE closes the socket with no close code', async () => {
    const { address, delivery, recorder } = await startGateway({ strict: true });
    const client = await openClient(address.url);
    const id = recorder.connects[0]!.requestContext.connectionId;
    await delivery.close(id);
    expect((await client.closed).code).toBe(1005);
    await recorder.until(() => recorder.disconnects.length === 1);
    expect(await delivery.info(id)).toBeUndefined();
  });

  it('logs a failing message handler and keeps the connection and gateway alive', async () => {
    const { address, recorder } = await startGateway({ strict: true }, async (_event, bytes, delivery) => {
      if (bytes[0] === 0xff) throw new Error('handler bug');
      await delivery.send(_event.requestContext.connectionId, bytes, 'text');
    });
    const client = await openClient(address.url);
    client.ws.send(b64(Buffer.from([0xff])));
    await recorder.until(() => recorder.logs.some((l) => l.msg === 'handler failed' && l.route === 'message'));
    client.ws.send(b64(Buffer.from([0xc0, 0x00])));
    expect(await client.bytes(2)).toEqual(Buffer.from([0xc0, 0x00]));
  });
});
