/** Builds raw MQTT packets for transport tests: any type byte, any body, correct Remaining Length. */
export function rawPacket(firstByte: number, bodyLength: number, fill = 0xab): Uint8Array {
  const length: number[] = [];
  let n = bodyLength;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    length.push(digit);
  } while (n > 0);
  const packet = new Uint8Array(1 + length.length + bodyLength);
  packet[0] = firstByte;
  packet.set(length, 1);
  packet.fill(fill, 1 + length.length);
  return packet;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, within bounds). */
export function cutAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const bounds = [0, ...[...new Set(offsets)].filter((o) => o > 0 && o < bytes.length).sort((a, b) => a - b), bytes.length];
  const chunks: Uint8Array[] = [];
  for (let i = 1; i < bounds.length; i++) chunks.push(bytes.subarray(bounds[i - 1], bounds[i]));
  return chunks;
}

/** Hex of each array: vitest's deep equality on large typed arrays is very slow, strings are fast. */
export function hex(arrays: readonly Uint8Array[]): string[] {
  return arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex'));
}
