/**
 * Random and mutated bytes: the decoder must never throw anything but an MqttError subclass, and
 * whatever it accepts must encode again and decode to the same packet. 100,000+ cases in all,
 * from a seeded generator so a failure reproduces.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDecoder, decode, decodePacket, encode } from '../../../lib/mqtt/index';
import { MqttError } from '../../../lib/mqtt/errors';
import type { Packet, ProtocolVersion } from '../../../lib/mqtt/types';
import { arbitraryPacket } from './arbitraries';
import { mutate } from '../../fuzz/mutations';
import { rng } from '../../fuzz/prng';

const VERSIONS: ProtocolVersion[] = [3, 4, 5];

interface Failure {
  bytes: string;
  version: ProtocolVersion;
  error: unknown;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * Decodes `bytes` whole and as a stream cut by `next`; returns a failure description when the
 * decoder throws a non-MqttError or accepts something that does not round-trip.
 */
function check(bytes: Uint8Array, version: ProtocolVersion, next: () => number): Failure | undefined {
  try {
    let packet: Packet | undefined;
    try {
      packet = decodePacket(bytes, version);
    } catch (e) {
      if (!(e instanceof MqttError)) throw e;
    }
    if (packet !== undefined) {
      const again = decodePacket(encode(packet, version), version);
      if (JSON.stringify(again) !== JSON.stringify(packet)) throw new Error('accepted packet does not round-trip');
    }
    const state = createDecoder({ protocolVersion: version, maxPacketSize: 1 + (next() % 4096) });
    let off = 0;
    while (off < bytes.length) {
      const end = Math.min(bytes.length, off + 1 + (next() % 16));
      decode(state, bytes.subarray(off, end));
      off = end;
    }
  } catch (error) {
    if (error instanceof MqttError) return undefined;
    return { bytes: hex(bytes), version, error };
  }
  return undefined;
}

function expectNoFailures(failures: Failure[]): void {
  expect(failures.slice(0, 3)).toEqual([]);
}

describe('decoder robustness', () => {
  it('pure random bytes (40,000 cases) only ever raise MqttError', () => {
    const next = rng(0xc0ffee);
    const failures: Failure[] = [];
    for (let i = 0; i < 40_000; i++) {
      const len = next() % 48;
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = next() & 0xff;
      // bias the first bytes toward plausible headers so decoding gets past the fixed header
      if (len > 1 && (i & 1) === 0) {
        bytes[0] = (bytes[0] & 0xf0) | [0, 2, 0, 0][i % 4];
        bytes[1] = len - 2;
      }
      const f = check(bytes, VERSIONS[i % 3], next);
      if (f) failures.push(f);
    }
    expectNoFailures(failures);
  });

  it('mutated valid encodings (66,000 cases) only ever raise MqttError', () => {
    const next = rng(0xdecade);
    const failures: Failure[] = [];
    for (const version of VERSIONS) {
      const pool = fc.sample(arbitraryPacket(version), { numRuns: 400, seed: 42 + version }).map((p) => encode(p, version));
      for (let i = 0; i < 22_000; i++) {
        const f = check(mutate(pool[i % pool.length], next), version, next);
        if (f) failures.push(f);
      }
    }
    expectNoFailures(failures);
  });
});
