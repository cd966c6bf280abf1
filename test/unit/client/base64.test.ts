import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as nodePath from '../../../lib/client/base64';

// RFC 4648 section 10 test vectors.
const vectors: Array<[string, string]> = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
];

/** The same module loaded without a global Buffer: the browser path (btoa/atob). */
async function browserPath(): Promise<typeof nodePath> {
  vi.resetModules();
  vi.stubGlobal('Buffer', undefined);
  try {
    return await import('../../../lib/client/base64');
  } finally {
    vi.unstubAllGlobals();
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe.each([
  ['Buffer (Node)', async () => nodePath],
  ['btoa/atob (browsers)', browserPath],
])('base64 via %s', (_name, load) => {
  it.each(vectors)('encodes %j as %j and back', async (plain, encoded) => {
    const { encodeBase64, decodeBase64 } = await load();
    const bytes = new TextEncoder().encode(plain);
    expect(encodeBase64(bytes)).toBe(encoded);
    expect(Array.from(decodeBase64(encoded) ?? [])).toEqual(Array.from(bytes));
  });

  it('encodes a view into a larger buffer by its own bytes only', async () => {
    const { encodeBase64 } = await load();
    const backing = Uint8Array.from([0xff, 0x66, 0x6f, 0x6f, 0xff]);
    expect(encodeBase64(backing.subarray(1, 4))).toBe('Zm9v');
  });

  it.each(['Zg', 'Zg=', 'Zm9v\n', 'Zm 9', 'Zm9v====', '=Zm9', 'Zm9-', 'Zm9_'])('rejects %j (not padded standard base64)', async (text) => {
    const { decodeBase64 } = await load();
    expect(decodeBase64(text)).toBeUndefined();
  });

  it('property: decode(encode(bytes)) equals bytes, and matches Node', async () => {
    const { encodeBase64, decodeBase64 } = await load();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(Buffer.from(decodeBase64(text) ?? []).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

it('without a global Buffer, uses btoa and atob', async () => {
  const { encodeBase64, decodeBase64 } = await browserPath();
  const btoa = vi.spyOn(globalThis, 'btoa');
  const atob = vi.spyOn(globalThis, 'atob');
  try {
    expect(decodeBase64(encodeBase64(Uint8Array.from([1, 2, 3])))).toEqual(Uint8Array.from([1, 2, 3]));
    expect(btoa).toHaveBeenCalledOnce();
    expect(atob).toHaveBeenCalledOnce();
  } finally {
    btoa.mockRestore();
    atob.mockRestore();
  }
});

describe('isBase64, the one base64 check', () => {
  /** Padded standard base64 spelt group by group: whole groups of 4, then XX== or XXX=. */
  const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

  it.each(vectors)('accepts the encoding of %j: %j', (_plain, encoded) => {
    expect(nodePath.isBase64(encoded)).toBe(true);
  });

  it.each(['Zg', 'Zg=', 'Zm9v\n', 'Zm 9', 'Zm9v====', '=Zm9', 'Zm9-', 'Zm9_', 'Z===', '===='])('rejects %j', (text) => {
    expect(nodePath.isBase64(text)).toBe(false);
  });

  it('property: agrees with the group-by-group definition on any string of base64 characters', () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'AZaz09+/=-_ '.split('')), maxLength: 24 }),
      fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    );
    fc.assert(fc.property(text, (s) => nodePath.isBase64(s) === CANONICAL.test(s)), { numRuns: 2_000 });
  });
});
