/**
 * Counters of one bridge, for logs and for the batching benchmark (bench/bridge.ts). "Metered"
 * counts what API Gateway bills: one message per started 32 KB of base64.
 */
import { FRAME_LIMIT_BYTES } from '../../api-gateway';

export interface BridgeStatsSnapshot {
  readonly connections: number;
  readonly open: number;
  readonly upstreamFailures: number;
  readonly gatewayErrorFrames: number;
  readonly messagesUp: number;
  readonly meteredUp: number;
  readonly packetsUp: number;
  readonly messagesDown: number;
}

export class BridgeStats {
  /** Client connections accepted since start */
  connections = 0;
  /** Client connections open now */
  open = 0;
  /** Upstream connections that could not be opened */
  upstreamFailures = 0;
  /** API Gateway error frames received upstream (each closed its client's connection) */
  gatewayErrorFrames = 0;
  /** WebSocket messages sent upstream */
  messagesUp = 0;
  /** API Gateway messages those are billed as (32 KB increments) */
  meteredUp = 0;
  /** MQTT packets carried by those messages */
  packetsUp = 0;
  /** WebSocket messages received from upstream */
  messagesDown = 0;

  recordUpstream(base64Chars: number, packets: number): void {
    this.messagesUp++;
    this.meteredUp += Math.max(1, Math.ceil(base64Chars / FRAME_LIMIT_BYTES));
    this.packetsUp += packets;
  }

  snapshot(): BridgeStatsSnapshot {
    const { connections, open, upstreamFailures, gatewayErrorFrames, messagesUp, meteredUp, packetsUp, messagesDown } = this;
    return { connections, open, upstreamFailures, gatewayErrorFrames, messagesUp, meteredUp, packetsUp, messagesDown };
  }
}
