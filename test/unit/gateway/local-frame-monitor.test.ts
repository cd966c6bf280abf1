import { describe, expect, it } from 'vitest';
import { FrameMonitor } from '../../../lib/local/frame-monitor';
import type { FrameViolation } from '../../../lib/local/frame-monitor';
import { connectionIdOf } from '../../../lib/local/management-api';

const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;
const PING = 0x9;

/** One masked client frame (RFC 6455 section 5.2) with a zero payload of `length` bytes. */
function frame(opcode: number, length: number, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  let header: Buffer;
  if (length < 126) header = Buffer.from([first, 0x80 | length]);
  else if (length < 65_536) {
    header = Buffer.alloc(4);
    header.writeUInt16BE(length, 2);
    header[1] = 0x80 | 126;
  } else {
    header = Buffer.alloc(10);
    header.writeBigUInt64BE(BigInt(length), 2);
    header[1] = 0x80 | 127;
  }
  header[0] = first;
  return Buffer.concat([header, Buffer.from([1, 2, 3, 4]), Buffer.alloc(length)]);
}

const limits = { frameBytes: 32 * 1024, messageBytes: 128 * 1024, allowBinary: false };

function run(frames: Buffer[], chunkSize?: number, allowBinary = false): FrameViolation[] {
  const seen: FrameViolation[] = [];
  const monitor = new FrameMonitor({ ...limits, allowBinary }, (v) => seen.push(v));
  const all = Buffer.concat(frames);
  const size = chunkSize ?? all.length;
  for (let offset = 0; offset < all.length; offset += size) monitor.push(all.subarray(offset, offset + size));
  return seen;
}

describe('FrameMonitor (strict mode limits)', () => {
  const cases: [string, Buffer[], number | undefined][] = [
    ['small text frames', [frame(TEXT, 10), frame(TEXT, 125), frame(TEXT, 126)], undefined],
    ['a frame of exactly 32 KB', [frame(TEXT, 32 * 1024)], undefined],
    ['fragments summing to exactly 128 KB', [frame(TEXT, 32 * 1024, false), frame(CONTINUATION, 32 * 1024, false), frame(PING, 4), frame(CONTINUATION, 32 * 1024, false), frame(CONTINUATION, 32 * 1024)], undefined],
    ['two 100 KB messages of small fragments', [...[0, 1].flatMap(() => [frame(TEXT, 25_000, false), frame(CONTINUATION, 25_000, false), frame(CONTINUATION, 25_000, false), frame(CONTINUATION, 25_000)])], undefined],
  ];

  it.each(cases)('allows %s, whole or byte by byte', (_name, frames) => {
    expect(run(frames)).toEqual([]);
    expect(run(frames, 1)).toEqual([]);
    expect(run(frames, 7)).toEqual([]);
  });

  it.each([
    ['a binary frame', [frame(BINARY, 2)], 1003],
    ['a frame one byte over 32 KB', [frame(TEXT, 32 * 1024 + 1)], 1009],
    ['a 64-bit length frame', [frame(TEXT, 70_000)], 1009],
    ['a fragment over 32 KB', [frame(TEXT, 10, false), frame(CONTINUATION, 40_000)], 1009],
    ['a message one byte over 128 KB', [frame(TEXT, 32 * 1024, false), frame(CONTINUATION, 32 * 1024, false), frame(CONTINUATION, 32 * 1024, false), frame(CONTINUATION, 32 * 1024, false), frame(CONTINUATION, 1)], 1009],
  ] as const)('closes on %s with %i, once', (_name, frames, code) => {
    for (const chunk of [undefined, 1, 5]) {
      const seen = run([...frames, frame(BINARY, 1)], chunk);
      expect(seen.map((v) => v.code)).toEqual([code]);
    }
  });

  it('lets binary frames through when allowed', () => {
    expect(run([frame(BINARY, 2)], undefined, true)).toEqual([]);
  });
});

describe('connectionIdOf', () => {
  it.each([
    ['/mqtt/@connections/abc%2Fd%3D', 'abc/d='],
    ['/mqtt/%40connections/L0SM9cOFvHcCIhw=', 'L0SM9cOFvHcCIhw='],
    ['/mqtt/@connections/x?y=1', 'x'],
  ])('%s -> %s', (url, id) => {
    expect(connectionIdOf(url, 'mqtt')).toBe(id);
  });

  it.each(['/other/@connections/x', '/mqtt/@connections/', '/mqtt', '/mqtt/@connections/%E0%A4%A'])('ignores %s', (url) => {
    expect(connectionIdOf(url, 'mqtt')).toBeUndefined();
  });
});
