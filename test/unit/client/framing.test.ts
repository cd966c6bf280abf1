import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberMessage, packMessages, planMessages, splitFrames } from '../../../lib/client/framing';
import { encodeBase64 } from '../../../lib/client/base64';
import { bytesFitting, maxPacketSize, resolveLimits } from '../../../lib/client/limits';
import { PacketScanner } from '../../../lib/client/scanner';
import { concatBytes, hex, rawPacket } from './helpers';
import { CLIENT_FRAME_CHARS, FRAME_LIMIT_BYTES, MAX_MESSAGE_SEQ, MAX_NUMBERED_PACKET_BYTES, MESSAGE_LIMIT_BYTES } from '../../../lib/api-gateway';

const defaults = resolveLimits();

describe('limits', () => {
  it('are the API Gateway figures: 32 KB frames, 128 KB messages', () => {
    expect(FRAME_LIMIT_BYTES).toBe(32_768);
    expect(MESSAGE_LIMIT_BYTES).toBe(131_072);
  });

  it('cut client frames at 32,000 characters (24,000 bytes of base64), under "32 KB" read as 32,000 or 32,768', () => {
    expect(CLIENT_FRAME_CHARS).toBe(32_000);
    expect(defaults.maxFrameSize).toBe(32_000);
    expect(bytesFitting(CLIENT_FRAME_CHARS)).toBe(24_000);
    expect(encodeBase64(new Uint8Array(24_000)).length).toBe(32_000);
  });

  it('largest packet, numbered (the default): 98,292 bytes with fragmentation, 23,988 in one frame (browsers)', () => {
    expect(maxPacketSize(defaults, true)).toBe(98_292);
    expect(maxPacketSize(defaults, false)).toBe(23_988);
    expect(MAX_NUMBERED_PACKET_BYTES).toBe(98_292);
    const numberedLength = (bytes: number): number => numberMessage(MAX_MESSAGE_SEQ, encodeBase64(new Uint8Array(bytes))).length;
    // The largest sequence number (15 digits) and its colon fit beside the largest packet.
    expect(numberedLength(98_292)).toBeLessThanOrEqual(MESSAGE_LIMIT_BYTES);
    expect(numberedLength(98_295)).toBeGreaterThan(MESSAGE_LIMIT_BYTES);
    expect(numberedLength(23_988)).toBeLessThanOrEqual(CLIENT_FRAME_CHARS);
    expect(numberedLength(23_991)).toBeGreaterThan(CLIENT_FRAME_CHARS);
    // A frame size raised to 32,768 (a stage shown to take it) gives the former 24,564.
    expect(maxPacketSize(resolveLimits({ maxFrameSize: FRAME_LIMIT_BYTES }), false)).toBe(24_564);
  });

  it('largest packet, unnumbered: 96 KiB with fragmentation, 24,000 bytes in one frame (browsers)', () => {
    const unnumbered = resolveLimits({ numbered: false });
    expect(maxPacketSize(unnumbered, true)).toBe(98_304);
    expect(maxPacketSize(unnumbered, false)).toBe(24_000);
    const base64Length = (bytes: number): number => encodeBase64(new Uint8Array(bytes)).length;
    expect(base64Length(98_304)).toBe(MESSAGE_LIMIT_BYTES);
    expect(base64Length(98_305)).toBeGreaterThan(MESSAGE_LIMIT_BYTES);
    expect(base64Length(24_000)).toBe(CLIENT_FRAME_CHARS);
  });

  it('numbered, a message of 20 characters at least: 16 for the prefix, 4 for the smallest base64', () => {
    expect(() => resolveLimits({ maxMessageSize: 19 })).toThrow(RangeError);
    expect(maxPacketSize(resolveLimits({ maxMessageSize: 20 }), true)).toBe(3);
    expect(maxPacketSize(resolveLimits({ maxMessageSize: 4, numbered: false }), true)).toBe(3);
  });

  it('base64 arithmetic: the most bytes whose padded base64 fits', () => {
    expect([0, 3, 4, 7, 8].map(bytesFitting)).toEqual([0, 0, 3, 3, 6]);
  });

  it('refuse settings above what API Gateway accepts; a frame size up to 32,768 is an opt-in', () => {
    expect(() => resolveLimits({ maxFrameSize: FRAME_LIMIT_BYTES + 1 })).toThrow(RangeError);
    expect(resolveLimits({ maxFrameSize: FRAME_LIMIT_BYTES }).maxFrameSize).toBe(32_768);
    expect(() => resolveLimits({ maxMessageSize: MESSAGE_LIMIT_BYTES + 1 })).toThrow(RangeError);
    expect(() => resolveLimits({ batchMs: -1 })).toThrow(RangeError);
    expect(() => resolveLimits({ onGatewayError: 'close' as 'report' })).toThrow(RangeError);
    expect(resolveLimits().onGatewayError).toBe('report');
    expect(resolveLimits({ maxFrameSize: 1024 }).maxFrameSize).toBe(1024);
  });
});

describe('packMessages', () => {
  it('packs several packets into one message, in order', () => {
    const packets = [rawPacket(0x30, 10, 1), rawPacket(0x30, 20, 2), rawPacket(0xc0, 0)];
    expect(hex(packMessages(packets, 1000))).toEqual(hex([concatBytes(packets)]));
  });

  it('starts a new message rather than split a packet, even when it fits exactly', () => {
    const a = rawPacket(0x30, 98); // 100 bytes
    const b = rawPacket(0x30, 48); // 50 bytes
    expect(packMessages([a, b], 150).map((m) => m.length)).toEqual([150]);
    expect(packMessages([a, b], 149).map((m) => m.length)).toEqual([100, 50]);
    expect(packMessages([a, b, a], 150).map((m) => m.length)).toEqual([150, 100]);
  });

  it('refuses a packet larger than the message (the scanner must drop it first)', () => {
    expect(() => packMessages([rawPacket(0x30, 200)], 100)).toThrow(RangeError);
  });

  it('property: messages hold whole packets only, within the limit, and lose nothing', () => {
    const packet = fc.integer({ min: 0, max: 3000 }).map((n) => rawPacket(0x30, n));
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 30 }), fc.integer({ min: 3004, max: 20_000 }), (packets, max) => {
        const messages = packMessages(packets, max);
        expect(messages.every((m) => m.length <= max)).toBe(true);
        // Rescanning each message alone yields whole packets with nothing left over.
        const rescanned = messages.flatMap((m) => {
          const scanner = new PacketScanner(max);
          const found = scanner.push(m);
          expect(scanner.buffered).toBe(0);
          return found.flatMap((r) => (r.kind === 'packet' ? [r.bytes] : []));
        });
        expect(hex(rescanned)).toEqual(hex(packets));
      }),
      { numRuns: 200 },
    );
  });
});

describe('splitFrames', () => {
  it('keeps a message that fits in one frame', () => {
    expect(splitFrames('A'.repeat(CLIENT_FRAME_CHARS), CLIENT_FRAME_CHARS)).toHaveLength(1);
    expect(splitFrames('', CLIENT_FRAME_CHARS)).toEqual(['']);
  });

  it('fragments a longer message into frames of at most 32,000 characters', () => {
    const text = 'QUJD'.repeat(25_000); // 100,000 characters
    const frames = splitFrames(text, CLIENT_FRAME_CHARS);
    expect(frames.map((f) => f.length)).toEqual([32_000, 32_000, 32_000, 4_000]);
    expect(frames.join('')).toBe(text);
  });

  it('cuts a 32,001-character message into two frames, each decoding as part of one text', () => {
    const text = 'A'.repeat(CLIENT_FRAME_CHARS + 1);
    expect(splitFrames(text, CLIENT_FRAME_CHARS).map((f) => f.length)).toEqual([32_000, 1]);
  });
});

describe('planMessages', () => {
  it('packs 3 packets of 40 KB as 2 messages: 80 KB in 4 frames, then 40 KB in 2 frames', () => {
    const packet = rawPacket(0x30, 40_000 - 4);
    const plan = planMessages([packet, packet, packet], maxPacketSize(defaults, true), defaults.maxFrameSize);
    expect(plan.map((frames) => frames.length)).toEqual([4, 2]);
    expect(plan.flat().every((frame) => frame.length <= CLIENT_FRAME_CHARS)).toBe(true);
    expect(plan[0].join('')).toBe(Buffer.from(concatBytes([packet, packet])).toString('base64'));
  });

  it('numbers the messages from firstSeq, one number per message however many frames it takes', () => {
    const packet = rawPacket(0x30, 40_000 - 4);
    const plan = planMessages([packet, packet, packet], maxPacketSize(defaults, true), defaults.maxFrameSize, 7);
    expect(plan.map((frames) => frames.length)).toEqual([4, 2]);
    expect(plan.flat().every((frame) => frame.length <= CLIENT_FRAME_CHARS)).toBe(true);
    expect(plan[0].join('')).toBe(`7:${Buffer.from(concatBytes([packet, packet])).toString('base64')}`);
    expect(plan[1].join('')).toBe(`8:${Buffer.from(packet).toString('base64')}`);
    // Only the first frame of a message carries the number.
    expect(plan[0].slice(1).some((frame) => frame.includes(':'))).toBe(false);
  });
});

describe('numberMessage', () => {
  it('writes `<seq>:<base64>`, 1 to 15 digits', () => {
    expect(numberMessage(1, 'wAA=')).toBe('1:wAA=');
    expect(numberMessage(MAX_MESSAGE_SEQ, 'wAA=')).toBe('999999999999999:wAA=');
  });

  it.each([0, -1, 1.5, MAX_MESSAGE_SEQ + 1])('refuses %d', (seq) => {
    expect(() => numberMessage(seq, 'wAA=')).toThrow(RangeError);
  });
});
