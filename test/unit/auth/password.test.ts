import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  dummyVerify,
  hashPassword,
  MAX_PASSWORD_BYTES,
  PasswordPolicyError,
  verifyPassword,
} from '../../../lib/auth/password';

/** A stored string with chosen parameters, built independently of the module. */
function encode(password: string, N: number, r: number, p: number, salt = Buffer.alloc(16, 7), keyLength = 32): string {
  const hash = scryptSync(password, salt, keyLength, { N, r, p, maxmem: 256 * 1024 * 1024 });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

describe('hashPassword', () => {
  it('produces scrypt$16384$8$1$<16-byte salt>$<32-byte hash>', async () => {
    const encoded = await hashPassword('correct horse');
    const parts = encoded.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(parts[4], 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5], 'base64')).toHaveLength(32);
  });

  it('matches an independent scrypt of the same salt', async () => {
    const encoded = await hashPassword('pässword');
    const [, , , , salt] = encoded.split('$');
    expect(encoded).toBe(encode('pässword', 16384, 8, 1, Buffer.from(salt, 'base64')));
  });

  it('uses a fresh salt for every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('refuses an empty password and one over 1024 bytes', async () => {
    await expect(hashPassword('')).rejects.toBeInstanceOf(PasswordPolicyError);
    await expect(hashPassword('x'.repeat(MAX_PASSWORD_BYTES + 1))).rejects.toBeInstanceOf(PasswordPolicyError);
    // 512 two-byte characters are 1024 bytes: the limit counts bytes, not characters
    await expect(hashPassword('é'.repeat(512))).resolves.toMatch(/^scrypt\$/);
    await expect(hashPassword('é'.repeat(513))).rejects.toBeInstanceOf(PasswordPolicyError);
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const encoded = await hashPassword('s3cret');
    expect(await verifyPassword('s3cret', encoded)).toBe(true);
    expect(await verifyPassword('s3cret ', encoded)).toBe(false);
    expect(await verifyPassword('S3cret', encoded)).toBe(false);
  });

  it('takes the password as UTF-8 bytes (an MQTT password is binary data)', async () => {
    const encoded = await hashPassword('pässword');
    expect(await verifyPassword(new TextEncoder().encode('pässword'), encoded)).toBe(true);
    expect(await verifyPassword(new Uint8Array([0x70, 0xe4]), encoded)).toBe(false);
  });

  it('reads the parameters from the stored string', async () => {
    expect(await verifyPassword('pw', encode('pw', 1024, 4, 2))).toBe(true);
    expect(await verifyPassword('pw', encode('pw', 2, 1, 1, Buffer.alloc(8, 1), 16))).toBe(true);
    expect(await verifyPassword('other', encode('pw', 1024, 4, 2))).toBe(false);
  });

  it('refuses parameters that could be used to exhaust the server (false, no work)', async () => {
    const good = encode('pw', 1024, 1, 1).split('$');
    const withParams = (N: string, r: string, p: string) => ['scrypt', N, r, p, good[4], good[5]].join('$');
    for (const [N, r, p] of [
      [String(2 ** 21), '1', '1'], // N over 2^20
      ['1000', '1', '1'], // not a power of two
      ['1', '1', '1'], // N must be at least 2
      ['1024', '33', '1'], // r over 32
      ['1024', '1', '17'], // p over 16
      [String(2 ** 20), '32', '1'], // 4 GiB of memory
      ['1024', '0', '1'],
      ['01024', '1', '1'], // not canonical decimal
      ['1024', '1', '1e0'],
      ['-1024', '1', '1'],
    ]) {
      expect(await verifyPassword('pw', withParams(N, r, p))).toBe(false);
    }
  });

  it('answers false for malformed strings and never throws', async () => {
    const good = encode('pw', 1024, 1, 1);
    const [, , , , salt, hash] = good.split('$');
    for (const encoded of [
      '',
      'pw',
      good.replace('scrypt', 'bcrypt'),
      good + '$',
      good.split('$').slice(0, 5).join('$'),
      `scrypt$1024$1$1$${salt}$`,
      `scrypt$1024$1$1$$${hash}`,
      `scrypt$1024$1$1$${salt}$${hash.slice(1)}`, // not canonical base64
      `scrypt$1024$1$1$${salt}$${'A'.repeat(100)}==`, // key too long
      `scrypt$1024$1$1$QUJD$${hash}`, // salt too short
      `scrypt$1024$1$1$${salt}$${hash}`.replace(/=/g, ''),
      'scrypt$' + 'x'.repeat(10_000),
      null as unknown as string,
      42 as unknown as string,
    ]) {
      await expect(verifyPassword('pw', encoded)).resolves.toBe(false);
    }
  });

  it('answers false for a password outside the policy', async () => {
    const encoded = await hashPassword('x');
    expect(await verifyPassword('', encoded)).toBe(false);
    expect(await verifyPassword(new Uint8Array(MAX_PASSWORD_BYTES + 1), encoded)).toBe(false);
  });
});

describe('dummyVerify', () => {
  it('answers false whatever the password', async () => {
    expect(await dummyVerify('anything')).toBe(false);
    expect(await dummyVerify(new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await dummyVerify('')).toBe(false);
  });
});
