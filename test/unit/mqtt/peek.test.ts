import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, peekPublishTopic, type ProtocolVersion } from '../../../lib/mqtt';

describe('peekPublishTopic', () => {
  it.each([4, 5] as ProtocolVersion[])('reads the topic of any PUBLISH (protocol %i) like the decoder does', (version) => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((t) => !/[+#\u0000]/.test(t)),
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(0, 1, 2),
        (topic, payload, qos) => {
          const bytes = encode(
            { type: 'publish', topic, payload, qos: qos as 0 | 1 | 2, retain: false, dup: false, ...(qos > 0 ? { packetId: 7 } : {}) },
            version,
          );
          expect(peekPublishTopic(bytes)).toBe(topic);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('says nothing for other packets, cut packets and bad UTF-8', () => {
    expect(peekPublishTopic(encode({ type: 'pingreq' }, 4))).toBeUndefined();
    expect(peekPublishTopic(new Uint8Array([0x30, 0x05, 0x00, 0x09, 0x61]))).toBeUndefined();
    expect(peekPublishTopic(new Uint8Array([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28]))).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void peekPublishTopic(bytes)), { numRuns: 2000 });
  });
});
