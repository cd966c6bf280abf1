/**
 * The contract every Delivery adapter passes: the in-memory one, the API Gateway one over a fake
 * HTTP transport (unit), and the API Gateway one against the local gateway (integration).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../../../lib/gateway/delivery';
import { FRAGMENT_PAYLOAD_BYTES } from '../../../lib/api-gateway';

export interface DeliveryFixture {
  readonly delivery: Delivery;
  /** Every id `onGone` was called with, in order. */
  readonly goneIds: readonly string[];
  /** Opens a live text-mode connection and answers its id. */
  open(): Promise<string>;
  /** The bytes the connection has received, reassembled as a client would, once at least `length` have arrived. */
  received(connectionId: string, length: number): Promise<Uint8Array>;
  /** Ends the connection behind the adapter's back (client gone, $disconnect lost). */
  kill(connectionId: string): Promise<void>;
  dispose(): Promise<void>;
}

export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) out[i] = (i * 131 + seed * 17) & 0xff;
  return out;
}

/**
 * An MQTT packet of exactly `size` bytes (at least 2): a PUBLISH fixed header whose Remaining
 * Length covers a `pattern` body. Delivery posts whole packets only, so tests send these.
 */
export function packetOfSize(size: number, seed = 1): Uint8Array {
  for (let lengthBytes = 1; lengthBytes <= 4; lengthBytes++) {
    const remaining = size - 1 - lengthBytes;
    if (remaining < 0 || vbiSize(remaining) !== lengthBytes) continue;
    const out = new Uint8Array(size);
    out[0] = 0x30;
    let n = remaining;
    for (let i = 1; i <= lengthBytes; i++) {
      out[i] = (n % 128) | (i < lengthBytes ? 0x80 : 0);
      n = Math.floor(n / 128);
    }
    out.set(pattern(remaining, seed), 1 + lengthBytes);
    return out;
  }
  throw new RangeError(`no MQTT packet is exactly ${size} bytes`);
}

function vbiSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Byte equality without vitest's element-by-element diff, which is slow on large arrays. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function describeDeliveryContract(name: string, create: () => Promise<DeliveryFixture>): void {
  describe(`Delivery contract: ${name}`, () => {
    let fixture: DeliveryFixture;

    beforeEach(async () => {
      fixture = await create();
    });

    afterEach(async () => {
      await fixture.dispose();
    });

    it('delivers a packet to an open connection', async () => {
      const id = await fixture.open();
      const data = packetOfSize(10);
      expect(await fixture.delivery.send(id, data, 'text')).toEqual({ status: 'sent', posted: 1 });
      expect(sameBytes(await fixture.received(id, data.length), data)).toBe(true);
    });

    it('posts nothing for zero bytes', async () => {
      const id = await fixture.open();
      expect(await fixture.delivery.send(id, new Uint8Array(0), 'text')).toEqual({ status: 'sent', posted: 0 });
    });

    it('packs small packets into one post', async () => {
      const id = await fixture.open();
      const data = new Uint8Array(Buffer.concat([packetOfSize(2), packetOfSize(300, 2), packetOfSize(2)]));
      expect(await fixture.delivery.send(id, data, 'text')).toEqual({ status: 'sent', posted: 1 });
      expect(sameBytes(await fixture.received(id, data.length), data)).toBe(true);
    });

    it('posts a packet over the post limit as tagged fragments and it arrives intact [MQTT-6.0.0-2]', async () => {
      const id = await fixture.open();
      const data = packetOfSize(2 * FRAGMENT_PAYLOAD_BYTES + 1, 2);
      expect(await fixture.delivery.send(id, data, 'text')).toEqual({ status: 'sent', posted: 3 });
      expect(sameBytes(await fixture.received(id, data.length), data)).toBe(true);
    });

    it('reports a gone target and names the target, not the sender, to onGone', async () => {
      const sender = await fixture.open();
      const target = await fixture.open();
      await fixture.kill(target);
      expect((await fixture.delivery.send(target, packetOfSize(5), 'text')).status).toBe('gone');
      expect(fixture.goneIds).toEqual([target]);
      expect(fixture.goneIds).not.toContain(sender);
      expect((await fixture.delivery.send(sender, packetOfSize(5), 'text')).status).toBe('sent');
    });

    it('treats an unknown id as gone', async () => {
      expect((await fixture.delivery.send('bm9zdWNoaWQ=', packetOfSize(2), 'text')).status).toBe('gone');
      expect(fixture.goneIds).toEqual(['bm9zdWNoaWQ=']);
      expect(await fixture.delivery.info('bm9zdWNoaWQ=')).toBeUndefined();
    });

    it('describes an open connection', async () => {
      const id = await fixture.open();
      const info = await fixture.delivery.info(id);
      expect(info?.connectedAt).toBeInstanceOf(Date);
      expect(info?.lastActiveAt).toBeInstanceOf(Date);
      expect(typeof info?.sourceIp).toBe('string');
    });

    it('closes a connection, after which it is gone; closing again is not an error', async () => {
      const id = await fixture.open();
      await fixture.delivery.close(id);
      expect(await fixture.delivery.info(id)).toBeUndefined();
      await expect(fixture.delivery.close(id)).resolves.toBeUndefined();
    });
  });
}
