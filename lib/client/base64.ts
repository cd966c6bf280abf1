/**
 * Standard base64 (RFC 4648 section 4, with padding) over Uint8Array. Uses Node's Buffer when the
 * runtime has one (several times faster than Node's global btoa/atob), else btoa/atob, so the
 * browser path needs no Buffer polyfill. `isBase64` is the one base64 check of the code base: the
 * device client, the bridge, the `$default` handler (lib/gateway/framing.ts) and the password
 * hashes (lib/auth/password.ts) all use it. `printableText` reads a binary frame as text, for the
 * client's binary frames that hold base64 (lib/client/reassembly.ts). Pure, imports nothing.
 */

interface BufferLike {
  from(data: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64' | 'latin1'): string };
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

/**
 * The text of `bytes` when every byte is printable ASCII (0x20 to 0x7E) or JSON's whitespace (tab,
 * LF, CR), else undefined. Base64, fragment tags and API Gateway's JSON are such text; raw MQTT
 * never is (a valid packet has a byte 0x00 or above 0x7F among its first three, or is shorter),
 * and the check stops at the first other byte, so raw MQTT costs a few reads.
 */
export function printableText(bytes: Uint8Array): string | undefined {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte > 0x7e) return undefined;
  }
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  let text = '';
  for (let i = 0; i < bytes.length; i += CHARS_PER_CALL) {
    text += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CHARS_PER_CALL)));
  }
  return text;
}
