/**
 * Keys as stored, within DynamoDB's key limits (issue 13 defect 6).
 *
 * Route keys. The `subscriptions` and `retained` tables are partitioned by a first level (or '+' /
 * '#' for subscriptions), and a first level may be empty ('/a'); DynamoDB refuses an empty string
 * in a key attribute, so the empty level is stored as '/', which no level can contain.
 *
 * Long keys. A topic or filter may be 65,535 bytes [MQTT-1.5.4-1], but DynamoDB refuses a sort key
 * over 1,024 bytes and a partition key over 2,048 (index keys too): a ValidationException, which
 * a client would meet again on every retry. A key value over 1,024 bytes of UTF-8 is therefore
 * stored as its first bytes (at most 960, cut at a character boundary), NUL, '#', and the
 * SHA-256 of the whole value (base64url): 1,005 bytes at most. The kept prefix keeps
 * `begins_with` queries working (see `queryPrefix`); the hash keeps distinct values distinct;
 * NUL never occurs in an MQTT string [MQTT-1.5.4-2], so a bounded key never equals a plain one.
 * The full topic or filter is always kept in a plain attribute, and matching uses that.
 */
import { createHash } from 'node:crypto';

/** DynamoDB's sort key limit, bytes of UTF-8; partition keys allow 2,048, so this bounds both. */
export const KEY_BYTES_MAX = 1024;
/** What a bounded key keeps of its value. */
const KEPT_BYTES = 960;
/** A query prefix longer than this is cut to it: a kept prefix may be up to 3 bytes short of KEPT_BYTES. */
const QUERY_PREFIX_BYTES = KEPT_BYTES - 3;
const HASH_MARK = '\u0000#';

export function storedRouteKey(key: string): string {
  return boundedKey(key === '' ? '/' : key);
}

/** The value itself when it fits a key, else its bounded form (see the module comment). */
export function boundedKey(value: string): string {
  if (Buffer.byteLength(value, 'utf8') <= KEY_BYTES_MAX) return value;
  return prefixOf(value, KEPT_BYTES) + HASH_MARK + createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Whether a stored key is a bounded one (its value is in another attribute). */
export function isBoundedKey(stored: string): boolean {
  return stored.includes('\u0000');
}

/**
 * The prefix to give `begins_with` on bounded keys so that it finds every value that starts with
 * `prefix`, bounded or not: the prefix itself when short, else its first bytes (a bounded value's
 * kept prefix then starts with them). Callers re-check what they read.
 */
export function queryPrefix(prefix: string): string {
  return Buffer.byteLength(prefix, 'utf8') <= QUERY_PREFIX_BYTES ? prefix : prefixOf(prefix, QUERY_PREFIX_BYTES);
}

/** The longest prefix of `value` of at most `maxBytes` bytes of UTF-8, cut at a character boundary. */
function prefixOf(value: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of value) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return value.slice(0, end);
}
