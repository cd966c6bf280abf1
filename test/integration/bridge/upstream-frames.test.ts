/**
 * The bridge's upstream messages on the wire: numbered base64 text, cut into frames of at most
 * 32,000 characters (CLIENT_FRAME_CHARS), whether API Gateway's "32 KB" means 32,000 or 32,768.
 * Read from the raw TCP bytes by the framing server of the client tests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { CLIENT_FRAME_CHARS } from '../../../lib/api-gateway';
import { FRAME_BYTES } from '../../../lib/client/bridge/options';
import { openUpstream, sendMessage } from '../../../lib/client/bridge/upstream';
import { FramingServer } from '../client/framing-server';

let server: FramingServer | undefined;
let ws: WebSocket | undefined;

afterEach(async () => {
  ws?.terminate();
  ws = undefined;
  await server?.close();
  server = undefined;
});

/** A PUBLISH of `size` bytes in all (3.1.1, QoS 0, topic "t"). */
function publishOfSize(size: number): Uint8Array {
  const remaining = size - 4; // type byte and a 3-byte Remaining Length
  const packet = new Uint8Array(size);
  packet.set([0x30, (remaining & 0x7f) | 0x80, ((remaining >> 7) & 0x7f) | 0x80, remaining >> 14, 0x00, 0x01, 0x74]);
  packet.fill(0x5a, 7);
  return packet;
}

async function sendAll(messages: readonly Uint8Array[]): Promise<FramingServer> {
  const srv = await FramingServer.start(() => undefined);
  server = srv;
  const socket = openUpstream({ url: srv.url, connectTimeoutMs: 5_000 }, 'mqtt');
  ws = socket;
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  messages.forEach((bytes, i) => sendMessage(socket, i + 1, bytes, () => undefined));
  await srv.until(() => srv.messages.length === messages.length);
  return srv;
}

describe('bridge upstream frames', () => {
  it('a message of FRAME_BYTES (23,988 bytes) is one frame of exactly 32,000 characters, its number included', async () => {
    expect(FRAME_BYTES).toBe(23_988);
    const srv = await sendAll([publishOfSize(FRAME_BYTES)]);
    // "1:" plus the base64 of 23,988 bytes (31,984) is 31,986: the number reserves 16, uses 2.
    expect(srv.frames.filter((f) => f.opcode <= 2).map((f) => [f.opcode, f.fin, f.length])).toEqual([[1, true, 31_986]]);
    expect(srv.messages[0]!.wholePackets).toBe(true);
  });

  it('a 60,000-byte packet goes as one message in frames of at most 32,000 characters', async () => {
    const srv = await sendAll([publishOfSize(60_000)]);
    const frames = srv.frames.filter((f) => f.opcode <= 2);
    // "1:" plus 80,000 characters of base64.
    expect(frames.map((f) => [f.opcode, f.fin, f.length])).toEqual([
      [1, false, CLIENT_FRAME_CHARS],
      [0, false, CLIENT_FRAME_CHARS],
      [0, true, 16_002],
    ]);
    expect(srv.messages[0]!.packets).toHaveLength(1);
    expect(srv.messages[0]!.wholePackets).toBe(true);
  });
});
