/**
 * Password hashing for the auth table (lib/store/auth-port.ts): scrypt (RFC 7914) from
 * node:crypto, run on the libuv thread pool so a CONNECT never blocks the event loop.
 *
 * A hash is stored as `scrypt$N$r$p$<salt>$<hash>` (salt and hash in standard base64), with a
 * random 16-byte salt per hash and the cost parameters in the string, so stronger parameters can
 * be adopted later without invalidating stored hashes. Defaults: N = 16384, r = 8, p = 1, a
 * 32-byte key (about 16 MiB and a few tens of ms per hash).
 *
 * Verification parses the parameters from the stored string, so a stored string bounds the work
 * it can cause: N is a power of two ≤ 2^20, r ≤ 32, p ≤ 16, and scrypt's memory (128·N·r bytes)
 * ≤ 256 MiB. Anything else is a mismatch, never an exception.
 *
 * Passwords are 1..1024 bytes (UTF-8 for a string; MQTT passwords are binary data, so bytes are
 * accepted as they are: the string 'pässword' and its UTF-8 bytes verify the same).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { isBase64 } from '../client/base64';

export const MIN_PASSWORD_BYTES = 1;
export const MAX_PASSWORD_BYTES = 1024;

const SCHEME = 'scrypt';
const DEFAULT = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY = 256 * 1024 * 1024;
/** Salt and key lengths a stored hash may have, bytes. */
const MIN_PART_BYTES = 8;
const MAX_PART_BYTES = 64;

const DECIMAL = /^[1-9][0-9]{0,7}$/;

interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

interface ParsedHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Thrown by hashPassword for a password outside 1..1024 bytes. */
export class PasswordPolicyError extends RangeError {
  constructor(readonly byteLength: number) {
    super(`a password has ${MIN_PASSWORD_BYTES} to ${MAX_PASSWORD_BYTES} bytes, not ${byteLength}`);
    this.name = 'PasswordPolicyError';
  }
}

/**
 * The stored form of a new password: `scrypt$16384$8$1$<salt>$<hash>`, a fresh salt each time.
 * @throws PasswordPolicyError unless the password has 1..1024 bytes
 */
export async function hashPassword(password: string | Uint8Array): Promise<string> {
  const bytes = passwordBytes(password);
  if (!withinPolicy(bytes)) throw new PasswordPolicyError(bytes.byteLength);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(bytes, salt, KEY_BYTES, DEFAULT);
  return [SCHEME, DEFAULT.N, DEFAULT.r, DEFAULT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/**
 * Whether the password matches a stored hash, compared in constant time. A malformed stored
 * string, parameters beyond the bounds of the module comment, or a password outside the policy
 * give false after the same scrypt work (a known user is not told apart by timing); this never
 * throws.
 */
export async function verifyPassword(password: string | Uint8Array, encoded: string): Promise<boolean> {
  try {
    const parsed = parseHash(encoded);
    const bytes = passwordBytes(password);
    // The same scrypt work as a real check, so the reply's timing tells nothing either.
    if (parsed === undefined || !withinPolicy(bytes)) return dummyVerify(withinPolicy(bytes) ? bytes : new Uint8Array(1));
    const candidate = await derive(bytes, parsed.salt, parsed.hash.length, parsed);
    return timingSafeEqual(candidate, parsed.hash);
  } catch {
    return false;
  }
}

/** A fixed salt and key for dummyVerify; no password derives this key in practice. */
const DUMMY_SALT = Buffer.alloc(SALT_BYTES, 0x5a);
const DUMMY_KEY = Buffer.alloc(KEY_BYTES, 0xa5);

/**
 * Spends the work of verifying against a default-parameter hash and returns false: for an
 * unknown user (or one without a password), so that the reply takes as long as for a known user
 * with a wrong password and does not reveal which names exist.
 */
export async function dummyVerify(password: string | Uint8Array): Promise<false> {
  try {
    const candidate = await derive(passwordBytes(password), DUMMY_SALT, KEY_BYTES, DEFAULT);
    timingSafeEqual(candidate, DUMMY_KEY);
  } catch {
    // the work was spent; the answer is false in any case
  }
  return false;
}

/** The parameters and parts of a stored hash, or undefined when it is malformed or out of bounds. */
function parseHash(encoded: string): ParsedHash | undefined {
  if (typeof encoded !== 'string' || encoded.length > 512) return undefined;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) return undefined;
  const [N, r, p] = parts.slice(1, 4).map((s) => (DECIMAL.test(s) ? Number(s) : NaN));
  if (!(N >= 2 && N <= MAX_N && (N & (N - 1)) === 0)) return undefined;
  if (!(r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P)) return undefined;
  if (128 * N * r > MAX_MEMORY) return undefined;
  const salt = strictBase64(parts[4]);
  const hash = strictBase64(parts[5]);
  if (salt === undefined || hash === undefined) return undefined;
  return { N, r, p, salt, hash };
}

/** Canonical, non-empty base64 of 8..64 bytes, else undefined. */
function strictBase64(text: string): Buffer | undefined {
  if (text.length === 0 || !isBase64(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < MIN_PART_BYTES || bytes.length > MAX_PART_BYTES) return undefined;
  return bytes;
}

function passwordBytes(password: string | Uint8Array): Uint8Array {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

function withinPolicy(bytes: Uint8Array): boolean {
  return bytes.byteLength >= MIN_PASSWORD_BYTES && bytes.byteLength <= MAX_PASSWORD_BYTES;
}

/** scrypt on the thread pool, with just enough memory allowed for the parameters. */
function derive(password: Uint8Array, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes, plus 128·r·p for its blocks: 1 MiB covers that at the bounds
  const maxmem = 128 * params.N * params.r + 1024 * 1024;
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
