/**
 * The Stratus codec as the benchmarks see it. Kept in one place so every benchmark measures the
 * entry points the broker uses: `encode`, and the incremental decoder that the gateway feeds
 * with each WebSocket message (the same job as mqtt-packet's `parser().parse(buf)`).
 */

import { createDecoder, decode, encode } from '../../lib/mqtt/index';
import type { Packet, ProtocolVersion } from '../../lib/mqtt/types';

export interface StratusCodec {
  encode(packet: Packet, version: ProtocolVersion): Uint8Array;
  /** A long-lived decoder for one connection: returns the packets completed by each chunk. */
  decoder(version: ProtocolVersion): (chunk: Uint8Array) => Packet[];
}

export const STRATUS: StratusCodec = {
  encode: (packet, version) => encode(packet, version),
  decoder: (version) => {
    const state = createDecoder({ protocolVersion: version });
    return (chunk) => decode(state, chunk).packets;
  },
};
