/**
 * The reassembler of server posts (docs/TRANSPORT.md section 4): untagged messages at once, tagged
 * fragments once their packet is complete, in any order and interleaved with other posts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayErrorFrameError, IntegrationFailedError, MalformedFrameError } from '../../../lib/client/errors';
import { formatTag, splitTag } from '../../../lib/client/fragment-tag';
import { Reassembler, decodeServerMessages } from '../../../lib/client/reassembly';
import { encodeOutgoing, fragment, splitPackets, toBase64 } from '../../../lib/gateway/framing';
import { FRAGMENT_PAYLOAD_BYTES } from '../../../lib/api-gateway';
import { packetOfSize } from '../gateway/delivery-contract';
import { hex } from './helpers';
import { printableText } from '../../../lib/client/base64';
import { encode } from '../../../lib/mqtt/index';
import { arbitraryPacket } from '../mqtt/arbitraries';

const big = (seed: number, parts = 3): Uint8Array => packetOfSize((parts - 1) * FRAGMENT_PAYLOAD_BYTES + 500, seed);
const small = (seed: number): Uint8Array => packetOfSize(40, seed);
const b64 = toBase64;

/** Feeds the messages and answers, per message, the bytes it added to the stream. */
function feed(reassembler: Reassembler, messages: readonly string[]): Uint8Array[] {
  return messages.map((m) => reassembler.text(m));
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('fragment tags', () => {
  it('formats and parses <id>.<index>.<count>:', () => {
    expect(formatTag({ id: 'a-Z_9', index: 0, count: 2 })).toBe('a-Z_9.0.2:');
    expect(splitTag('a-Z_9.1.2:wAA=')).toEqual({ tag: { id: 'a-Z_9', index: 1, count: 2 }, payload: 'wAA=' });
    expect(splitTag('wAA=')).toEqual({ tag: undefined, payload: 'wAA=' });
  });

  it.each([
    ['an empty id', { id: '', index: 0, count: 2 }],
    ['an id of 17 characters', { id: 'x'.repeat(17), index: 0, count: 2 }],
    ['an id with a dot', { id: 'a.b', index: 0, count: 2 }],
    ['a count of 1', { id: 'a', index: 0, count: 1 }],
    ['an index equal to the count', { id: 'a', index: 2, count: 2 }],
  ])('refuses to format %s', (_name, tag) => {
    expect(() => formatTag(tag)).toThrow(RangeError);
  });
});

describe('Reassembler', () => {
  it('appends untagged messages at once, whole packets as posted', () => {
    const packets = [small(1), small(2)];
    expect(hex(feed(new Reassembler(), packets.map(b64)))).toEqual(hex(packets));
  });

  it('appends a fragmented packet when its last part arrives, in order', () => {
    const packet = big(1);
    const out = feed(new Reassembler(), fragment(packet, 'p1'));
    expect(out.map((b) => b.length)).toEqual([0, 0, packet.length]);
    expect(hex([out[2]!])).toEqual(hex([packet]));
  });

  it('accepts the parts in any order', () => {
    const packet = big(2, 5);
    const parts = fragment(packet, 'p1');
    const out = feed(new Reassembler(), [parts[3]!, parts[0]!, parts[4]!, parts[2]!, parts[1]!]);
    expect(out.slice(0, 4).every((b) => b.length === 0)).toBe(true);
    expect(hex([out[4]!])).toEqual(hex([packet]));
  });

  it('keeps untagged messages and another packet’s fragments interleaved between the parts apart', () => {
    const [a, b, s1, s2] = [big(1), big(2, 2), small(3), small(4)];
    const fa = fragment(a, 'A');
    const fb = fragment(b, 'B');
    const stream = decodeServerMessages([fa[0]!, b64(s1), fb[0]!, fa[1]!, b64(s2), fb[1]!, fa[2]!]);
    expect(hex(splitPackets(stream))).toEqual(hex([s1, s2, b, a]));
  });

  it('ignores a part delivered twice', () => {
    const packet = big(1, 2);
    const [p0, p1] = fragment(packet, 'dup');
    expect(hex(feed(new Reassembler(), [p0!, p0!, p1!]))).toEqual(hex([new Uint8Array(0), new Uint8Array(0), packet]));
  });

  it('keeps at most maxPending incomplete packets, dropping the oldest', () => {
    const reassembler = new Reassembler({ maxPending: 2 });
    const parts = ['A', 'B', 'C'].map((id, i) => fragment(big(i + 1, 2), id));
    feed(reassembler, [parts[0]![0]!, parts[1]![0]!, parts[2]![0]!]);
    expect(reassembler.pendingPackets).toBe(2);
    expect(reassembler.dropped).toBe(1);
    expect(reassembler.text(parts[1]![1]!)).toHaveLength(big(2, 2).length); // B kept
    expect(reassembler.text(parts[2]![1]!)).toHaveLength(big(3, 2).length); // C kept
    expect(reassembler.text(parts[0]![1]!)).toHaveLength(0); // A was dropped: its last part alone never completes
  });

  it('drops a packet whose parts exceed maxPacketBytes', () => {
    const reassembler = new Reassembler({ maxPacketBytes: FRAGMENT_PAYLOAD_BYTES + 100 });
    const out = feed(reassembler, fragment(big(1, 3), 'huge'));
    expect(out.every((b) => b.length === 0)).toBe(true);
    expect(reassembler.dropped).toBe(1);
    expect(hex([reassembler.text(b64(small(5)))])).toEqual(hex([small(5)])); // the stream goes on
  });

  it.each([
    ['a colon with no tag', ':wAA='],
    ['an id of 17 characters', `${'x'.repeat(17)}.0.2:wAA=`],
    ['an id with a bad character', 'a+b.0.2:wAA='],
    ['a count of 1', 'a.0.1:wAA='],
    ['an index equal to the count', 'a.2.2:wAA='],
    ['a leading zero', 'a.01.2:wAA='],
    ['a count of 7 digits', 'a.0.1000000:wAA='],
    ['a missing field', 'a.0:wAA='],
    ['a payload that is not base64', 'a.0.2:wA='],
    ['an empty payload', 'a.0.2:'],
    ['untagged text that is not base64', 'not base64!'],
    ['a colon after the tag area', `${'A'.repeat(40)}:AAAA`],
  ])('refuses %s as a malformed frame', (_name, text) => {
    expect(() => new Reassembler().text(text)).toThrow(MalformedFrameError);
  });

  // The shapes reported from API Gateway WebSocket APIs (an integration error, a Lambda timeout,
  // a frame no route takes), with the spacing seen in the reports.
  it.each([
    ['Internal server error', '{"message": "Internal server error", "connectionId":"Zq0lpfIyliACGbQ=", "requestId":"Zq1LaGLQliAFsbA="}'],
    ['Endpoint request timed out', '{"message": "Endpoint request timed out", "connectionId":"Llf4ceE2NjMCF7w=", "requestId":"Llf7PFSNNjMFZeA="}'],
    ['Forbidden', '{"message":"Forbidden","connectionId":"abc=","requestId":"req-1"}'],
    ['Too Many Requests', '{"message":"Too Many Requests","connectionId":"abc=","requestId":"req-2"}'],
  ])("recognises API Gateway's error frame %j, not as a malformed frame, and changes nothing", (message, text) => {
    const reassembler = new Reassembler();
    reassembler.text('a.0.2:wAA=');
    const thrown = thrownBy(() => reassembler.text(text));
    expect(thrown).toBeInstanceOf(GatewayErrorFrameError);
    expect(thrown).toBeInstanceOf(IntegrationFailedError); // the deprecated name is the same class
    const parsed = JSON.parse(text) as { connectionId: string; requestId: string };
    expect(thrown).toMatchObject({ code: 'STRATUS_GATEWAY_ERROR_FRAME', gatewayMessage: message, requestId: parsed.requestId, connectionId: parsed.connectionId });
    // The pending fragment is still there: its second part completes the packet.
    expect(hex([reassembler.text('a.1.2:wAA=')])).toEqual(hex([new Uint8Array([0xc0, 0x00, 0xc0, 0x00])]));
  });

  it('recognises any JSON object as an error frame, its fields optional and bounded', () => {
    expect(thrownBy(() => new Reassembler().text('{"connectionId":"abc="}'))).toMatchObject({ gatewayMessage: undefined, requestId: undefined, connectionId: 'abc=' });
    const long = thrownBy(() => new Reassembler().text(JSON.stringify({ message: 'm'.repeat(1000), requestId: 7 })));
    expect(long).toMatchObject({ requestId: undefined });
    expect((long as GatewayErrorFrameError).gatewayMessage).toHaveLength(200);
  });

  it.each([
    ['a brace that is not JSON', '{not json'],
    ['a JSON array', '["message"]'],
  ])('refuses %s as a malformed frame', (_name, text) => {
    expect(() => new Reassembler().text(text)).toThrow(MalformedFrameError);
  });

  it('refuses parts of one packet that disagree on the count', () => {
    const reassembler = new Reassembler();
    reassembler.text('a.0.2:wAA=');
    expect(() => reassembler.text('a.1.3:wAA=')).toThrow(MalformedFrameError);
  });

  it('passes binary messages through in decodeServerMessages', () => {
    expect(hex([decodeServerMessages([small(1), b64(small(2))])])).toEqual(hex([new Uint8Array(Buffer.concat([small(1), small(2)]))]));
  });
});

describe('Reassembler, binary messages', () => {
  const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

  it('reads a binary message holding base64 as the text message it holds', () => {
    const packets = [small(1), small(2)];
    expect(hex(packets.map((p) => new Reassembler().binary(ascii(b64(p)))))).toEqual(hex(packets));
  });

  it('reads tagged fragments in binary messages, mixed with text ones, as their packet', () => {
    const packet = big(7);
    const parts = fragment(packet, 'bin1');
    const reassembler = new Reassembler();
    const out = [reassembler.binary(ascii(parts[2]!)), reassembler.text(parts[0]!), reassembler.binary(ascii(parts[1]!))];
    expect(hex(out)).toEqual(hex([new Uint8Array(0), new Uint8Array(0), packet]));
  });

  it("throws GatewayErrorFrameError for API Gateway's error frame in a binary message", () => {
    const frame = ascii('{"message": "Internal server error", "connectionId":"abc=", "requestId":"req-3"}');
    expect(thrownBy(() => new Reassembler().binary(frame))).toMatchObject({ code: 'STRATUS_GATEWAY_ERROR_FRAME', requestId: 'req-3' });
  });

  it('passes raw MQTT through, and binary text that is not a Stratus message (nothing is lost)', () => {
    const reassembler = new Reassembler();
    for (const raw of [small(3), new Uint8Array([0xd0, 0x00]), ascii('not base64!'), ascii('{not json'), new Uint8Array(0)]) {
      expect(hex([reassembler.binary(raw)])).toEqual(hex([raw]));
    }
  });

  it.each([4, 5] as const)('never reads a valid MQTT packet (protocol %i) sent raw in binary as text (property)', (version) => {
    fc.assert(
      fc.property(fc.array(arbitraryPacket(version), { minLength: 1, maxLength: 3 }), (packets) => {
        const raw = new Uint8Array(Buffer.concat(packets.map((p) => encode(p, version))));
        expect(printableText(raw)).toBeUndefined();
        expect(hex([new Reassembler().binary(raw)])).toEqual(hex([raw]));
      }),
      { numRuns: 300 },
    );
  });
});

describe('interleaved senders (property) [MQTT-6.0.0-2]', () => {
  const size = fc.oneof(fc.integer({ min: 3, max: 127 }), fc.integer({ min: 131, max: 16_385 }), fc.integer({ min: 16_388, max: 80_000 }));

  it('two senders’ posts merged in any order give each sender’s packets whole and in its order', () => {
    fc.assert(
      fc.property(fc.array(size, { maxLength: 4 }), fc.array(size, { maxLength: 4 }), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), (sa, sb, picks) => {
        const a = sa.map((s, i) => packetOfSize(s, 2 * i));
        const b = sb.map((s, i) => packetOfSize(s, 2 * i + 1));
        const ma = encodeOutgoing(new Uint8Array(Buffer.concat(a)), 'text') as string[];
        const mb = encodeOutgoing(new Uint8Array(Buffer.concat(b)), 'text') as string[];
        const merged: string[] = [];
        for (let i = 0; ma.length + mb.length > 0; i++) merged.push((picks[i % picks.length] && ma.length > 0) || mb.length === 0 ? ma.shift()! : mb.shift()!);
        const received = hex(splitPackets(decodeServerMessages(merged)));
        const fromA = new Set(hex(a));
        return (
          received.length === a.length + b.length &&
          JSON.stringify(received.filter((p) => fromA.has(p))) === JSON.stringify(hex(a)) &&
          JSON.stringify(received.filter((p) => !fromA.has(p))) === JSON.stringify(hex(b))
        );
      }),
      { numRuns: 30 },
    );
  });
});
