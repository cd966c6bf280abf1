/**
 * Splitting the client's byte stream into whole packets and packing them into upstream messages:
 * whatever the cuts in the TCP stream and the timing, every message holds whole packets only, in
 * order, within API Gateway's limits (docs/TRANSPORT.md, section 3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../../lib/client/base64';
import { splitFrames } from '../../../lib/client/framing';
import { PacketScanner } from '../../../lib/client/scanner';
import { FRAME_BYTES, MAX_MESSAGE_BYTES } from '../../../lib/client/bridge/options';
import { Outbox, groupPackets, type Timers } from '../../../lib/client/bridge/outbox';
import { concatBytes, cutAt, hex, rawPacket } from '../../unit/client/helpers';
import { CLIENT_FRAME_CHARS, MESSAGE_LIMIT_BYTES } from '../../../lib/api-gateway';

/** Timers driven by the test: nothing fires until `advance`. */
class ManualTimers implements Timers {
  private now = 0;
  private next = 0;
  private readonly due = new Map<number, { at: number; run: () => void }>();

  set(run: () => void, ms: number): unknown {
    const id = this.next++;
    this.due.set(id, { at: this.now + ms, run });
    return id;
  }

  clear(handle: unknown): void {
    this.due.delete(handle as number);
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.due].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now || !this.due.has(id)) continue;
      this.due.delete(id);
      timer.run();
    }
  }
}

const packetArb = fc
  .tuple(fc.integer({ min: 1, max: 14 }), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40_000 })))
  .map(([type, body]) => rawPacket((type << 4) | 2, body));

const scenarioArb = fc.record({
  packets: fc.array(packetArb, { minLength: 1, maxLength: 40 }),
  cuts: fc.array(fc.nat(), { maxLength: 30 }),
  batchMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 })),
  batchBytes: fc.oneof(fc.constant(FRAME_BYTES), fc.integer({ min: 2, max: MAX_MESSAGE_BYTES })),
  pauses: fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 30 }),
});

describe('Outbox: whole packets in, whole-packet messages out', () => {
  it('any cuts, any timing: messages concatenate to the stream, each holds whole packets within the limits', () => {
    fc.assert(
      fc.property(scenarioArb, ({ packets, cuts, batchMs, batchBytes, pauses }) => {
        const stream = concatBytes(packets);
        const reads = cutAt(stream, cuts.map((c) => c % stream.length));
        const timers = new ManualTimers();
        const messages: { bytes: Uint8Array; packets: number }[] = [];
        const outbox = new Outbox({ batchMs, batchBytes }, (bytes, n) => messages.push({ bytes, packets: n }), timers);
        const scanner = new PacketScanner(MAX_MESSAGE_BYTES);
        reads.forEach((read, i) => {
          const whole = scanner.push(read).map((r) => (r.kind === 'packet' ? r.bytes : new Uint8Array()));
          outbox.add(whole);
          if (batchMs === 0) expect(outbox.held).toBe(0); // each read goes out at once
          else expect(outbox.held).toBeLessThan(batchBytes); // a full batch never waits
          timers.advance(pauses[i] ?? 0);
        });
        timers.advance(batchMs); // the last window closes
        expect(outbox.held).toBe(0);

        expect(hex([concatBytes(messages.map((m) => m.bytes))])).toEqual(hex([stream]));
        for (const message of messages) {
          const check = new PacketScanner(MAX_MESSAGE_BYTES);
          const inside = check.push(message.bytes);
          expect(check.buffered).toBe(0); // never ends inside a packet
          expect(inside).toHaveLength(message.packets);
          expect(message.bytes.length <= batchBytes || message.packets === 1).toBe(true);
          const text = encodeBase64(message.bytes);
          expect(text.length).toBeLessThanOrEqual(MESSAGE_LIMIT_BYTES);
          expect(splitFrames(text, CLIENT_FRAME_CHARS).every((frame) => frame.length <= CLIENT_FRAME_CHARS)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('with a window, packets that arrive within it share one message', () => {
    const timers = new ManualTimers();
    const sent: number[] = [];
    const outbox = new Outbox({ batchMs: 50, batchBytes: FRAME_BYTES }, (_bytes, n) => sent.push(n), timers);
    for (let i = 0; i < 10; i++) {
      outbox.add([rawPacket(0x30, 40)]);
      timers.advance(4);
    }
    expect(sent).toEqual([]);
    timers.advance(20);
    expect(sent).toEqual([10]);
  });

  it('flush sends what is held at once (a client DISCONNECT before the close); discard drops it', () => {
    const timers = new ManualTimers();
    const sent: number[] = [];
    const outbox = new Outbox({ batchMs: 1_000, batchBytes: FRAME_BYTES }, (_bytes, n) => sent.push(n), timers);
    outbox.add([rawPacket(0x30, 10), rawPacket(0xe0, 0)]);
    outbox.flush();
    expect(sent).toEqual([2]);
    outbox.add([rawPacket(0x30, 10)]);
    outbox.discard();
    timers.advance(2_000);
    expect(sent).toEqual([2]);
  });

  it('groupPackets keeps order, never splits, and gives an oversize packet a group of its own', () => {
    const sizes = (groups: Uint8Array[][]) => groups.map((g) => g.map((p) => p.length));
    const [a, b, c] = [rawPacket(0x30, 8), rawPacket(0x30, 98), rawPacket(0x30, 18)]; // 10, 100, 20 bytes
    expect(sizes(groupPackets([a, b, c], 50))).toEqual([[10], [100], [20]]);
    expect(sizes(groupPackets([a, c, a], 50))).toEqual([[10, 20, 10]]);
    expect(sizes(groupPackets([a, c, c, a], 45))).toEqual([[10, 20], [20, 10]]);
  });
});
