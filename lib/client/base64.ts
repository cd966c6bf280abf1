/**
 * Standard base64 (RFC 4648 section 4, with padding) over Uint8Array. Uses Node's Buffer when the
 * runtime has one (several times faster than Node's global btoa/atob), else btoa/atob, so the
 * browser path needs no Buffer polyfill. `isBase64` is the one base64 check of the code base: the
 * device client, the bridge, the `$default` handler (lib/gateway/framing.ts) and the password
 * hashes (lib/auth/password.ts) all use it. Pure, imports nothing.
 */

interface BufferLike {
  from(data: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
  from(data: string, encoding: 'base64'): Uint8Array;
}

const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
/** With a length that is a multiple of 4, exactly the padded standard base64 strings. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** String.fromCharCode.apply takes at most this many arguments comfortably. */
const CHARS_PER_CALL = 0x8000;

export function encodeBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHARS_PER_CALL) {
    binary += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CHARS_PER_CALL)));
  }
  return btoa(binary);
}

/**
 * Whether `text` is padded standard base64, with no whitespace: characters of the RFC 4648
 * alphabet, then at most two `=`, a multiple of 4 in all. The empty string is base64 of no bytes.
 */
export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64.test(text);
}

/** Decodes `text`, or returns undefined when it is not padded standard base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!isBase64(text)) return undefined;
  if (NodeBuffer) return NodeBuffer.from(text, 'base64');
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
