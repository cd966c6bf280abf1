import { describe, expect, it } from 'vitest';
import { FramingError } from '../../../lib/gateway/errors';
import { decodeBody, encodeOutgoing, messageSize, splitBytes, toBase64 } from '../../../lib/gateway/framing';
import { FRAME_LIMIT_BYTES, MAX_CHUNK_BYTES } from '../../../lib/api-gateway';

function bytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

function joinText(messages: (string | Uint8Array)[]): Uint8Array {
  return new Uint8Array(Buffer.concat(messages.map((m) => (typeof m === 'string' ? Buffer.from(m, 'base64') : m))));
}

describe('framing limits', () => {
  it('a full chunk encodes to exactly the 32 KB frame limit', () => {
    expect(MAX_CHUNK_BYTES).toBe(24 * 1024);
    expect(toBase64(bytes(MAX_CHUNK_BYTES))).toHaveLength(FRAME_LIMIT_BYTES);
  });
});

describe('splitBytes and encodeOutgoing [MQTT-6.0.0-2]', () => {
  it.each([
    [0, 0],
    [1, 1],
    [MAX_CHUNK_BYTES - 1, 1],
    [MAX_CHUNK_BYTES, 1],
    [MAX_CHUNK_BYTES + 1, 2],
    [2 * MAX_CHUNK_BYTES, 2],
    [2 * MAX_CHUNK_BYTES + 1, 3],
    [128 * 1024, 6],
  ])('%i bytes -> %i messages, each within the frame limit, in order', (length, count) => {
    const data = bytes(length);
    for (const mode of ['text', 'binary'] as const) {
      const messages = encodeOutgoing(data, mode);
      expect(messages).toHaveLength(count);
      for (const message of messages) {
        expect(typeof message === 'string').toBe(mode === 'text');
        expect(messageSize(message)).toBeLessThanOrEqual(FRAME_LIMIT_BYTES);
      }
      expect(Buffer.from(joinText(messages)).equals(Buffer.from(data))).toBe(true);
    }
  });

  it('one byte over a chunk leaves a 1-byte tail', () => {
    const chunks = splitBytes(bytes(MAX_CHUNK_BYTES + 1));
    expect(chunks.map((c) => c.length)).toEqual([MAX_CHUNK_BYTES, 1]);
  });

  it('respects the view offset of a subarray', () => {
    const data = bytes(10).subarray(3, 7);
    expect(Buffer.from(encodeOutgoing(data, 'text')[0] as string, 'base64')).toEqual(Buffer.from(data));
  });

  it('refuses a chunk size below 1', () => {
    expect(() => splitBytes(bytes(3), 0)).toThrow(RangeError);
  });
});

describe('decodeBody', () => {
  it('decodes base64 text', () => {
    expect(decodeBody({ body: 'EAwABE1RVFQEAgA8AAA=', isBase64Encoded: false })).toEqual(
      new Uint8Array([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]),
    );
    expect(decodeBody({ body: '', isBase64Encoded: false })).toEqual(new Uint8Array(0));
  });

  it.each(['not base64!', 'EAw', 'EA==EA==', 'EAwA\n', ' EAwA', 'EA=A'])('refuses %j', (body) => {
    const error = catchError(() => decodeBody({ body, isBase64Encoded: false }));
    expect(error).toBeInstanceOf(FramingError);
    expect((error as FramingError).kind).toBe('invalid-base64');
  });

  it('accepts binary frames only when allowed (local lenient mode)', () => {
    const event = { body: Buffer.from([0xc0, 0x00]).toString('base64'), isBase64Encoded: true };
    expect(decodeBody(event, { allowBinary: true })).toEqual(new Uint8Array([0xc0, 0x00]));
    const error = catchError(() => decodeBody(event));
    expect(error).toBeInstanceOf(FramingError);
    expect((error as FramingError).kind).toBe('binary-not-allowed');
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
