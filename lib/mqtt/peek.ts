/**
 * Reads the topic name of a PUBLISH at the start of `bytes` without decoding the packet. The
 * topic name comes first in the variable header in every protocol version, so the runtime can
 * start looking up routes before it knows the connection's version. Returns undefined for
 * anything else, or for bytes that do not hold a well-formed topic (the real decode will say why).
 */
import { MqttError } from './errors';
import { decodeUtf8 } from './utf8';

export function peekPublishTopic(bytes: Uint8Array): string | undefined {
  if (bytes.length < 4 || bytes[0] >> 4 !== 3) return undefined;
  let pos = 1;
  for (let i = 0; i < 4; i++, pos++) {
    if (pos >= bytes.length) return undefined;
    if ((bytes[pos] & 0x80) === 0) break;
    if (i === 3) return undefined;
  }
  pos++;
  if (pos + 2 > bytes.length) return undefined;
  const length = (bytes[pos] << 8) | bytes[pos + 1];
  const start = pos + 2;
  if (length === 0 || start + length > bytes.length) return undefined;
  try {
    return decodeUtf8(bytes, start, start + length);
  } catch (error) {
    if (error instanceof MqttError) return undefined;
    throw error;
  }
}
