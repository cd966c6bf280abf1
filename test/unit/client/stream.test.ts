import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  FramingRefusedError,
  GatewayErrorFrameError,
  MalformedFrameError,
  MalformedPacketError,
  PacketTooLargeError,
  WebSocketError,
} from '../../../lib/client/errors';
import { resolveLimits, type StratusTransportOptions } from '../../../lib/client/limits';
import type { SocketEvents, TextSocket } from '../../../lib/client/socket-types';
import { StratusStream, type TransportCounters } from '../../../lib/client/stream';
import { concatBytes, cutAt, hex, rawPacket } from './helpers';
import { CLIENT_FRAME_CHARS, FRAGMENT_PAYLOAD_BYTES } from '../../../lib/api-gateway';
import { fragment } from '../../../lib/gateway/framing';

class FakeSocket implements TextSocket {
  readonly sent: string[][] = [];
  readonly pendingDone: Array<(error?: Error) => void> = [];
  autoDone = true;
  closed = 0;
  paused = false;

  send(frames: readonly string[], done: (error?: Error) => void): void {
    this.sent.push([...frames]);
    if (this.autoDone) done();
    else this.pendingDone.push(done);
  }

  close(): void {
    this.closed++;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** MQTT bytes of each message sent, its `<seq>:` prefix stripped */
  messages(): Uint8Array[] {
    return this.sent.map((frames) => Buffer.from(frames.join('').replace(/^\d+:/, ''), 'base64'));
  }

  /** The sequence number of each message sent (undefined when unnumbered) */
  seqs(): (number | undefined)[] {
    return this.sent.map((frames) => {
      const prefix = /^(\d+):/.exec(frames.join(''));
      return prefix === null ? undefined : Number(prefix[1]);
    });
  }
}

const streams: StratusStream[] = [];

afterEach(() => {
  streams.splice(0).forEach((stream) => stream.destroy());
  vi.useRealTimers();
});

/** Lets queued microtasks, nextTicks and the factory's promise run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function setup(options: { canFragment?: boolean; open?: boolean; limits?: StratusTransportOptions; counters?: TransportCounters } = {}) {
  const socket = new FakeSocket();
  let events: SocketEvents | undefined;
  const stream = new StratusStream(
    {
      canFragment: options.canFragment ?? true,
      open: (e) => {
        events = e;
        return socket;
      },
    },
    resolveLimits(options.limits),
    {},
    options.counters,
  );
  streams.push(stream);
  stream.on('error', () => {}); // tests that expect errors listen themselves
  await settle();
  if (!events) throw new Error('factory not called');
  if (options.open ?? true) events.open();
  return { stream, socket, events };
}

function nextError(stream: StratusStream): Promise<Error> {
  return new Promise((resolve) => stream.once('error', resolve));
}

const p1 = rawPacket(0x30, 10, 1);
const p2 = rawPacket(0x32, 300, 2);
const p3 = rawPacket(0xc0, 0);

describe('StratusStream outgoing', () => {
  it('packs packets written in the same tick into one message', async () => {
    const { stream, socket } = await setup();
    stream.write(p1);
    stream.write(p2);
    stream.write(p3);
    await settle();
    expect(hex(socket.messages())).toEqual(hex([concatBytes([p1, p2, p3])]));
  });

  it('sends packets written in different ticks as separate messages (default batching)', async () => {
    const { stream, socket } = await setup();
    stream.write(p1);
    await settle();
    stream.write(p2);
    await settle();
    expect(hex(socket.messages())).toEqual(hex([p1, p2]));
  });

  it('never sends a partial packet: bytes wait for the end of their packet', async () => {
    const { stream, socket } = await setup();
    const [head, ...rest] = cutAt(concatBytes([p1, p2]), [1, 14, 200]);
    stream.write(head);
    await settle();
    expect(socket.sent).toEqual([]);
    rest.forEach((chunk) => stream.write(chunk));
    await settle();
    expect(hex(socket.messages())).toEqual(hex([concatBytes([p1, p2])]));
  });

  it('holds packets until the socket opens, then sends them in one message', async () => {
    const { stream, socket, events } = await setup({ open: false });
    stream.write(p1);
    stream.write(p2);
    await settle();
    expect(socket.sent).toEqual([]);
    events.open();
    expect(hex(socket.messages())).toEqual(hex([concatBytes([p1, p2])]));
  });

  it('with batchMs, gathers packets written across ticks within the window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { stream, socket } = await setup({ limits: { batchMs: 20 } });
    stream.write(p1);
    await settle();
    stream.write(p2);
    await settle();
    expect(socket.sent).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(hex(socket.messages())).toEqual(hex([concatBytes([p1, p2])]));
  });

  it('keeps messages within 128 KB of base64, fragmenting those over 32,000 characters', async () => {
    const { stream, socket } = await setup();
    const big = rawPacket(0x30, 40_000 - 4, 7);
    stream.write(big);
    stream.write(big);
    stream.write(big);
    await settle();
    expect(socket.messages().map((m) => m.length)).toEqual([80_000, 40_000]);
    expect(socket.sent.map((frames) => frames.length)).toEqual([4, 2]);
    expect(socket.sent.map((frames) => frames.map((frame) => frame.length))).toEqual([
      [32_000, 32_000, 32_000, 10_670], // "1:" and 106,668 characters of base64
      [32_000, 21_338], // "2:" and 53,336
    ]);
  });

  it('drops a packet too large for one message with PacketTooLargeError; the stream stays usable', async () => {
    const { stream, socket } = await setup();
    const error = nextError(stream);
    cutAt(rawPacket(0x30, 100_000), [1, 2, 50_000]).forEach((chunk) => stream.write(chunk));
    stream.write(p1);
    expect(await error).toMatchObject({ code: 'STRATUS_PACKET_TOO_LARGE', packetType: 3, packetSize: 100_004, limit: 98_292 });
    expect(await error).toBeInstanceOf(PacketTooLargeError);
    await settle();
    expect(hex(socket.messages())).toEqual(hex([p1]));
    expect(stream.destroyed).toBe(false);
  });

  it('without fragmentation (browsers), sends one frame of at most 32,000 characters per message', async () => {
    const { stream, socket } = await setup({ canFragment: false });
    const packet = rawPacket(0x30, 20_000);
    stream.write(packet);
    stream.write(packet);
    const error = nextError(stream);
    stream.write(rawPacket(0x30, 23_985)); // 23,989 bytes: one more than fits beside the number
    expect(await error).toMatchObject({ limit: 23_988, packetSize: 23_989 });
    stream.write(rawPacket(0x30, 23_984)); // 23,988 bytes: exactly fits
    await settle();
    expect(socket.sent.map((frames) => frames.length)).toEqual([1, 1, 1]);
    expect(socket.sent.flat().every((frame) => frame.length <= CLIENT_FRAME_CHARS)).toBe(true);
    expect(socket.sent[2]![0]!.length).toBe(31_986); // "3:" and 31,984 characters of base64
  });

  it('destroys the stream when the bytes are not MQTT (Remaining Length over 4 bytes)', async () => {
    const { stream, socket } = await setup();
    const error = nextError(stream);
    stream.write(Uint8Array.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]));
    expect(await error).toBeInstanceOf(MalformedPacketError);
    expect(stream.destroyed).toBe(true);
    expect(socket.closed).toBe(1);
  });

  it('holds the write callback while more than highWaterMark bytes are unsent', async () => {
    const { stream, socket } = await setup({ limits: { highWaterMark: 100 } });
    socket.autoDone = false;
    let written = false;
    stream.write(p2, () => (written = true));
    await settle();
    expect(socket.sent).toHaveLength(1);
    expect(written).toBe(false);
    socket.pendingDone.forEach((done) => done());
    await settle();
    expect(written).toBe(true);
  });

  it('on end, sends what is queued, then closes the socket', async () => {
    const { stream, socket } = await setup();
    stream.write(p1);
    stream.end();
    await settle();
    expect(hex(socket.messages())).toEqual(hex([p1]));
    expect(socket.closed).toBe(1);
  });

  it('numbers its messages from 1, one number per message, a fragmented one included', async () => {
    const { stream, socket } = await setup();
    stream.write(p1);
    await settle();
    stream.write(rawPacket(0x30, 40_000 - 4)); // 53,336 characters: 2 frames, 1 message
    await settle();
    stream.write(p2);
    stream.write(p3);
    await settle();
    expect(socket.seqs()).toEqual([1, 2, 3]);
    expect(socket.sent.map((frames) => frames.length)).toEqual([1, 2, 1]);
    expect(socket.sent[1][0]).toMatch(/^2:/);
    expect(hex(socket.messages())).toEqual(hex([p1, rawPacket(0x30, 40_000 - 4), concatBytes([p2, p3])]));
  });

  it('with numbered: false, sends plain base64, and the largest packet is 98,304 bytes', async () => {
    const { stream, socket } = await setup({ limits: { numbered: false } });
    expect(stream.maxPacketSize).toBe(98_304);
    stream.write(p1);
    await settle();
    stream.write(p2);
    await settle();
    expect(socket.seqs()).toEqual([undefined, undefined]);
    expect(socket.sent.flat()).toEqual([Buffer.from(p1).toString('base64'), Buffer.from(p2).toString('base64')]);
  });

  it('closes the socket when destroyed', async () => {
    const { stream, socket } = await setup();
    stream.destroy();
    expect(socket.closed).toBe(1);
  });
});

describe('StratusStream incoming', () => {
  const read = (stream: StratusStream): Uint8Array[] => {
    const chunks: Uint8Array[] = [];
    stream.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    return chunks;
  };

  it('decodes base64 text messages into the byte stream, a packet spanning messages [MQTT-6.0.0-2]', async () => {
    const { stream, events } = await setup();
    const chunks = read(stream);
    const bytes = concatBytes([p1, p2]);
    cutAt(bytes, [1, 13, 100]).forEach((chunk) => events.text(Buffer.from(chunk).toString('base64')));
    await settle();
    expect(hex([concatBytes(chunks)])).toEqual(hex([bytes]));
  });

  it('appends a fragmented packet once all its tagged parts are in, untagged posts passing between them', async () => {
    const { stream, events } = await setup();
    const chunks = read(stream);
    const bigPacket = rawPacket(0x30, 2 * FRAGMENT_PAYLOAD_BYTES);
    const parts = fragment(bigPacket, 'big1');
    events.text(parts[1]!);
    events.text(Buffer.from(p1).toString('base64'));
    events.text(parts[0]!);
    events.text(parts[2]!);
    await settle();
    expect(hex([concatBytes(chunks)])).toEqual(hex([concatBytes([p1, bigPacket])]));
  });

  it('fails with MalformedFrameError on a malformed fragment tag', async () => {
    const { stream, events } = await setup();
    const error = nextError(stream);
    events.text('big1.3.2:wAA=');
    expect(await error).toBeInstanceOf(MalformedFrameError);
    expect(stream.destroyed).toBe(true);
  });

  it.each(['text', 'binary'] as const)(
    "reports API Gateway's error frame (%s) as GatewayErrorFrameError and counts it; the stream goes on unchanged",
    async (kind) => {
      const counters = { gatewayErrorFrames: 0 };
      const { stream, events, socket } = await setup({ counters });
      const chunks = read(stream);
      const parts = fragment(rawPacket(0x30, 2 * FRAGMENT_PAYLOAD_BYTES), 'big1');
      events.text(parts[0]!);
      events.text(Buffer.from(p1.subarray(0, 3)).toString('base64')); // a packet cut across messages
      const error = nextError(stream);
      const frame = '{"message": "Internal server error", "connectionId": "abc=", "requestId": "req-9"}';
      if (kind === 'text') events.text(frame);
      else events.binary(new Uint8Array(Buffer.from(frame, 'latin1')));
      expect(await error).toBeInstanceOf(GatewayErrorFrameError);
      expect(await error).toMatchObject({ code: 'STRATUS_GATEWAY_ERROR_FRAME', gatewayMessage: 'Internal server error', requestId: 'req-9' });
      expect(stream.destroyed).toBe(false);
      expect(stream.gatewayErrorFrames).toBe(1);
      expect(counters.gatewayErrorFrames).toBe(1);
      // The rest of the cut packet and the other fragments complete the stream as if nothing came between.
      events.text(Buffer.from(p1.subarray(3)).toString('base64'));
      events.text(parts[1]!);
      events.text(parts[2]!);
      await settle();
      expect(hex([concatBytes(chunks)])).toEqual(hex([concatBytes([p1, rawPacket(0x30, 2 * FRAGMENT_PAYLOAD_BYTES)])]));
      // And it still sends.
      stream.write(p3);
      await settle();
      expect(hex(socket.messages())).toEqual(hex([p3]));
    },
  );

  it("with onGatewayError: 'reconnect', fails on API Gateway's error frame, so MQTT.js reconnects and resends [MQTT-4.4.0-1]", async () => {
    const counters = { gatewayErrorFrames: 0 };
    const { stream, events, socket } = await setup({ counters, limits: { onGatewayError: 'reconnect' } });
    const error = nextError(stream);
    events.text('{"message": "Endpoint request timed out", "connectionId": "abc=", "requestId": "req-7"}');
    expect(await error).toMatchObject({ code: 'STRATUS_GATEWAY_ERROR_FRAME', gatewayMessage: 'Endpoint request timed out', requestId: 'req-7' });
    expect(stream.destroyed).toBe(true);
    expect(socket.closed).toBe(1);
    expect(counters.gatewayErrorFrames).toBe(1);
  });

  it('reads a binary message holding base64 (or a tagged fragment) as the text message it holds', async () => {
    const { stream, events } = await setup();
    const chunks = read(stream);
    const big = rawPacket(0x30, 2 * FRAGMENT_PAYLOAD_BYTES);
    const parts = fragment(big, 'bin1');
    const binary = (text: string): void => events.binary(new Uint8Array(Buffer.from(text, 'latin1')));
    binary(Buffer.from(p1).toString('base64'));
    binary(parts[1]!);
    events.text(parts[0]!);
    binary(parts[2]!);
    binary(Buffer.from(p2).toString('base64'));
    await settle();
    expect(hex([concatBytes(chunks)])).toEqual(hex([concatBytes([p1, big, p2])]));
  });

  it('passes binary messages from a lenient server through as they are', async () => {
    const { stream, events } = await setup();
    const chunks = read(stream);
    events.binary(p2);
    await settle();
    expect(hex(chunks)).toEqual(hex([p2]));
  });

  it('fails with MalformedFrameError on text that is not padded base64', async () => {
    const { stream, events } = await setup();
    const error = nextError(stream);
    events.text('not base64!');
    expect(await error).toBeInstanceOf(MalformedFrameError);
    expect(stream.destroyed).toBe(true);
  });

  it('pauses the socket when the reader lags, resumes when it reads', async () => {
    const { stream, socket, events } = await setup();
    events.binary(new Uint8Array(20_000));
    expect(socket.paused).toBe(true);
    stream.read();
    await settle();
    expect(socket.paused).toBe(false);
  });
});

describe('StratusStream socket events', () => {
  it('ends, then closes, when the socket closes normally', async () => {
    const { stream, events } = await setup();
    stream.resume();
    const closed = new Promise((resolve) => stream.once('close', resolve));
    let ended = false;
    stream.once('end', () => (ended = true));
    events.close(1001, 'going away');
    await closed;
    expect(ended).toBe(true);
    expect(stream.errored).toBeNull();
  });

  it.each([1003, 1009])('fails with FramingRefusedError on close code %i', async (code) => {
    const { stream, events } = await setup();
    const error = nextError(stream);
    events.close(code, 'refused');
    expect(await error).toMatchObject({ code: 'STRATUS_FRAMING_REFUSED', closeCode: code });
    expect(await error).toBeInstanceOf(FramingRefusedError);
  });

  it('wraps a socket error without a code in WebSocketError, so MQTT.js reports it', async () => {
    const { stream, events } = await setup();
    const error = nextError(stream);
    const cause = new Error('Unexpected server response: 401');
    events.error(cause);
    expect(await error).toBeInstanceOf(WebSocketError);
    expect((await error).cause).toBe(cause);
  });

  it('passes a socket error with a code through', async () => {
    const { stream, events } = await setup();
    const error = nextError(stream);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    events.error(refused);
    expect(await error).toBe(refused);
  });

  it('fails when the socket cannot be created', async () => {
    const stream = new StratusStream(
      {
        canFragment: true,
        open: () => Promise.reject(Object.assign(new Error('no ws'), { code: 'ERR_MODULE_NOT_FOUND' })),
      },
      resolveLimits(),
    );
    streams.push(stream);
    expect(await nextError(stream)).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  });
});
