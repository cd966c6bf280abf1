import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FramingError } from '../../../lib/gateway/errors';
import { decodeBody, encodeOutgoing, fragment, messageSize, splitPackets, toBase64 } from '../../../lib/gateway/framing';
import { decodeServerMessages } from '../../../lib/client/reassembly';
import { splitTag } from '../../../lib/client/fragment-tag';
import {
  BINARY_POST_BYTES,
  FRAGMENT_PAYLOAD_BYTES,
  FRAGMENT_TAG_MAX_CHARS,
  POST_LIMIT_CHARS,
  POST_PACKED_BYTES,
} from '../../../lib/api-gateway';
import { packetOfSize, sameBytes } from './delivery-contract';

const concat = (parts: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
let ids = 0;
const counterId = (): string => `p${(ids += 1)}`;

describe('post limits', () => {
  it('derives every size from 31 KiB of characters per post', () => {
    expect(POST_LIMIT_CHARS).toBe(31_744);
    expect(POST_PACKED_BYTES).toBe(23_808);
    expect(toBase64(new Uint8Array(POST_PACKED_BYTES))).toHaveLength(POST_LIMIT_CHARS);
    expect(FRAGMENT_PAYLOAD_BYTES).toBe(23_784);
    expect(FRAGMENT_TAG_MAX_CHARS + toBase64(new Uint8Array(FRAGMENT_PAYLOAD_BYTES)).length).toBe(POST_LIMIT_CHARS);
    expect(`${'x'.repeat(16)}.999998.999999:`.length).toBeLessThanOrEqual(FRAGMENT_TAG_MAX_CHARS);
  });
});

/** Each case: packet sizes in, then per message: 'w' (untagged, whole packets) or 'f' (fragment). */
const TEXT_CASES: readonly (readonly [string, readonly number[], string])[] = [
  ['empty', [], ''],
  ['one small packet', [2], 'w'],
  ['several packets packed into one post', [2, 100, 5_000, 2], 'w'],
  ['packets filling one post exactly', [20_000, 3_806, 2], 'w'],
  ['packets packed until the next one does not fit', [20_000, 3_806, 3], 'ww'],
  ['a packet exactly at the post limit', [POST_PACKED_BYTES], 'w'],
  ['a packet one byte over the post limit: 2 fragments', [POST_PACKED_BYTES + 1], 'ff'],
  ['a packet needing 5 fragments', [4 * FRAGMENT_PAYLOAD_BYTES + 1], 'fffff'],
  ['small packets around a fragmented one', [2, 60_000, 2, 2], 'wfffw'],
];

describe('encodeOutgoing, text: whole packets per post, big packets in tagged fragments [MQTT-6.0.0-2]', () => {
  it.each(TEXT_CASES)('%s', (_name, sizes, shape) => {
    const packets = sizes.map((size, i) => packetOfSize(size, i + 1));
    const messages = encodeOutgoing(concat(packets), 'text', counterId) as string[];
    expect(messages.map((m) => (splitTag(m)?.tag === undefined ? 'w' : 'f')).join('')).toBe(shape);
    for (const message of messages) expect(messageSize(message)).toBeLessThanOrEqual(POST_LIMIT_CHARS);
    expect(sameBytes(decodeServerMessages(messages), concat(packets))).toBe(true);
    // Every untagged post is whole packets on its own: it parses with no help from its neighbours.
    for (const message of messages.filter((m) => !m.includes(':'))) {
      expect(() => splitPackets(Buffer.from(message, 'base64'))).not.toThrow();
    }
  });

  it('tags fragments <id>.<index>.<count>: with one id per packet', () => {
    const messages = encodeOutgoing(concat([packetOfSize(60_000), packetOfSize(60_000, 2)]), 'text', counterId) as string[];
    const tags = messages.map((m) => splitTag(m)?.tag);
    const first = tags[0]!.id;
    const second = tags[3]!.id;
    expect(first).not.toBe(second);
    expect(tags).toEqual([0, 1, 2].map((index) => ({ id: first, index, count: 3 })).concat([0, 1, 2].map((index) => ({ id: second, index, count: 3 }))));
  });

  it('cuts a packet into FRAGMENT_PAYLOAD_BYTES parts, the last one shorter', () => {
    const parts = fragment(packetOfSize(2 * FRAGMENT_PAYLOAD_BYTES + 10), 'abc');
    expect(parts.map((p) => Buffer.from(splitTag(p)!.payload, 'base64').length)).toEqual([FRAGMENT_PAYLOAD_BYTES, FRAGMENT_PAYLOAD_BYTES, 10]);
    expect(parts[2]!.startsWith('abc.2.3:')).toBe(true);
  });

  it('picks random ids by default, 12 characters of [A-Za-z0-9_-]', () => {
    const ids = new Set([1, 2, 3].map(() => encodeOutgoingId()));
    expect(ids.size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('respects the view offset of a subarray', () => {
    const packet = packetOfSize(10);
    const data = concat([packetOfSize(7, 3), packet]).subarray(7);
    expect(Buffer.from(encodeOutgoing(data, 'text')[0] as string, 'base64')).toEqual(Buffer.from(packet));
  });

  it('round-trips any run of packets, whatever their sizes (property)', () => {
    const size = fc.oneof(fc.integer({ min: 2, max: 127 }), fc.integer({ min: 131, max: 16_385 }), fc.integer({ min: 16_388, max: 80_000 }));
    fc.assert(
      fc.property(fc.array(size, { maxLength: 6 }), (sizes) => {
        const data = concat(sizes.map((s, i) => packetOfSize(s, i)));
        const messages = encodeOutgoing(data, 'text');
        return messages.every((m) => messageSize(m) <= POST_LIMIT_CHARS) && sameBytes(decodeServerMessages(messages), data);
      }),
      { numRuns: 40 },
    );
  });
});

/** The id the default generator gave a fragmented packet. */
function encodeOutgoingId(): string {
  const message = encodeOutgoing(packetOfSize(30_000), 'text')[0] as string;
  return splitTag(message)!.tag!.id;
}

describe('docs/TRANSPORT.md section 7, worked example', () => {
  const hello = Buffer.from('300a0003612f6268656c6c6f', 'hex');

  it('posts PUBLISH hello and a PINGRESP in one untagged message', () => {
    expect(encodeOutgoing(hello, 'text')).toEqual(['MAoAA2EvYmhlbGxv']);
    expect(encodeOutgoing(concat([hello, Buffer.from([0xd0, 0x00])]), 'text')).toEqual(['MAoAA2EvYmhlbGxv0AA=']);
  });

  it('posts a 60,009-byte PUBLISH as 3 fragments', () => {
    const publish = new Uint8Array(60_009);
    publish.set([0x30, 0xe5, 0xd4, 0x03, 0x00, 0x03, 0x61, 0x2f, 0x62]);
    const messages = encodeOutgoing(publish, 'text', () => 'Q2x1c3Rlcl8x') as string[];
    expect(messages.map((m) => m.slice(0, 29))).toEqual(['Q2x1c3Rlcl8x.0.3:MOXUAwADYS9i', expect.stringMatching(/^Q2x1c3Rlcl8x\.1\.3:/), expect.stringMatching(/^Q2x1c3Rlcl8x\.2\.3:/)]);
    expect(messages.map((m) => splitTag(m)!.payload.length)).toEqual([31_712, 31_712, 16_588]);
  });
});

describe('encodeOutgoing, binary (lenient local mode): whole packets, never cut', () => {
  it.each([
    ['empty', [], []],
    ['several packets packed', [2, 100, 60_000], [60_102]],
    ['packed up to the binary post limit', [100_000, 31_072, 1_000], [131_072, 1_000]],
    ['a packet over the frame limit goes whole', [98_304], [98_304]],
  ] as const)('%s', (_name, sizes, posts) => {
    const packets = sizes.map((size, i) => packetOfSize(size, i + 1));
    const messages = encodeOutgoing(concat(packets), 'binary');
    expect(messages.every((m) => typeof m !== 'string')).toBe(true);
    expect(messages.map(messageSize)).toEqual(posts);
    expect(sameBytes(concat(messages as Uint8Array[]), concat(packets))).toBe(true);
  });

  it('posts a packet over the binary post limit alone and whole (the gateway answers 413)', () => {
    const messages = encodeOutgoing(concat([packetOfSize(2), packetOfSize(BINARY_POST_BYTES + 1)]), 'binary');
    expect(messages.map(messageSize)).toEqual([2, BINARY_POST_BYTES + 1]);
  });
});

describe('splitPackets', () => {
  it('cuts at each fixed header', () => {
    const packets = [packetOfSize(2), packetOfSize(200, 2), packetOfSize(20_000, 3)];
    expect(splitPackets(concat(packets)).map((p) => p.length)).toEqual([2, 200, 20_000]);
  });

  it.each([
    ['ends inside a packet', [0x30, 0x05, 0x00]],
    ['ends inside a fixed header', [0xc0, 0x00, 0x30, 0x80]],
    ['Remaining Length over 4 bytes [MQTT-1.5.5-1]', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ])('refuses bytes that are not whole packets: %s', (_name, bytes) => {
    const error = catchError(() => encodeOutgoing(new Uint8Array(bytes), 'text'));
    expect(error).toBeInstanceOf(FramingError);
    expect((error as FramingError).kind).toBe('not-whole-packets');
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
