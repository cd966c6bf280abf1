/**
 * Both socket adapters (socket.ts) under the stream, against a real `ws` server on 127.0.0.1:
 * `ws` in Node, and the WHATWG WebSocket of browsers (the runtime's global one when it has it,
 * Node 22; `ws`'s WHATWG interface otherwise). AWS does not document whether `@connections`
 * posts reach the client in text or binary frames, so both must give the same stream, and
 * API Gateway's JSON error frame must be reported, not read as MQTT, in either frame type.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { GatewayErrorFrameError } from '../../../lib/client/errors';
import { resolveLimits } from '../../../lib/client/limits';
import { chooseSocketFactory, type SocketChoice } from '../../../lib/client/socket';
import { StratusStream, type TransportCounters } from '../../../lib/client/stream';
import { fragment } from '../../../lib/gateway/framing';
import { FRAGMENT_PAYLOAD_BYTES } from '../../../lib/api-gateway';
import { concatBytes, hex, rawPacket } from './helpers';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const globalWebSocket = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;

const ADAPTERS: Array<[string, SocketChoice]> = [
  ['ws (Node)', {}],
  ['WHATWG (ws)', { createWebSocket: (url, protocols) => new WsWebSocket(url, protocols) as unknown as WebSocket }],
  ...(globalWebSocket === undefined ? [] : [['WHATWG (global)', { forceNativeWebSocket: true }] as [string, SocketChoice]]),
];

/** A server whose first connection the test drives, and a stream connected to it through `choice`. */
async function connected(choice: SocketChoice) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'mqtt' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const accepted = new Promise<ServerSocket>((resolve) => wss.once('connection', resolve));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  const counters: TransportCounters = { gatewayErrorFrames: 0 };
  const stream = new StratusStream(chooseSocketFactory({ url, protocols: ['mqtt'] }, choice), resolveLimits(), {}, counters);
  cleanups.push(() => {
    stream.destroy();
  });
  const errors: Error[] = [];
  stream.on('error', (error: Error) => errors.push(error));
  const chunks: Uint8Array[] = [];
  stream.on('data', (chunk: Uint8Array) => chunks.push(chunk));
  const server = await accepted;
  for (const client of wss.clients) cleanups.push(() => client.terminate());
  return { server, stream, counters, errors, chunks };
}

/** Sends a PINGRESP in a text frame and resolves once the stream has it: all sent before arrived. */
async function flushed(server: ServerSocket, chunks: Uint8Array[]): Promise<void> {
  const marker = new Uint8Array([0xd0, 0x00]);
  server.send('0AA=');
  const done = (): boolean => hex([concatBytes(chunks)])[0]!.endsWith(hex([marker])[0]!);
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

const p1 = rawPacket(0x30, 10, 1);
const p2 = rawPacket(0x32, 300, 2);
const big = rawPacket(0x30, 2 * FRAGMENT_PAYLOAD_BYTES, 3);
const PINGRESP = new Uint8Array([0xd0, 0x00]);
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const asBinary = (text: string): Buffer => Buffer.from(text, 'latin1');

describe.each(ADAPTERS)('socket adapter %s', (_name, choice) => {
  it('gives the same stream for base64 in text frames and in binary frames, tagged fragments included', async () => {
    const { server, chunks, errors } = await connected(choice);
    const parts = fragment(big, 'x1');
    server.send(b64(p1));
    server.send(asBinary(b64(p2)), { binary: true });
    server.send(asBinary(parts[1]!), { binary: true });
    server.send(parts[0]!);
    server.send(asBinary(parts[2]!), { binary: true });
    await flushed(server, chunks);
    expect(hex([concatBytes(chunks)])).toEqual(hex([concatBytes([p1, p2, big, PINGRESP])]));
    expect(errors).toEqual([]);
  });

  it('passes raw MQTT in a binary frame through as it is (the lenient local gateway)', async () => {
    const { server, chunks, errors } = await connected(choice);
    server.send(Buffer.from(p2), { binary: true });
    await flushed(server, chunks);
    expect(hex([concatBytes(chunks)])).toEqual(hex([concatBytes([p2, PINGRESP])]));
    expect(errors).toEqual([]);
  });

  it.each([false, true])("reports API Gateway's error frame (binary: %s) as GatewayErrorFrameError, counts it, keeps the connection", async (binary) => {
    const { server, stream, counters, chunks, errors } = await connected(choice);
    const frame = '{"message": "Internal server error", "connectionId":"Zq0lpfIyliACGbQ=", "requestId":"Zq1LaGLQliAFsbA="}';
    server.send(b64(p1.subarray(0, 4))); // a packet cut across messages, around the error frame
    server.send(binary ? asBinary(frame) : frame, { binary });
    server.send(b64(p1.subarray(4)));
    await flushed(server, chunks);
    expect(hex([concatBytes(chunks)])).toEqual(hex([concatBytes([p1, PINGRESP])]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(GatewayErrorFrameError);
    expect(errors[0]).toMatchObject({ code: 'STRATUS_GATEWAY_ERROR_FRAME', gatewayMessage: 'Internal server error', requestId: 'Zq1LaGLQliAFsbA=' });
    expect(counters.gatewayErrorFrames).toBe(1);
    expect(stream.destroyed).toBe(false);
    // The client still sends on the same connection.
    const received = new Promise<string>((resolve) => server.once('message', (data: Buffer) => resolve(data.toString('latin1'))));
    stream.write(new Uint8Array([0xc0, 0x00]));
    expect(await received).toBe('1:wAA=');
  });
});
