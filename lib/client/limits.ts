/**
 * API Gateway WebSocket limits and the arithmetic that turns them into MQTT byte budgets.
 * Base64 text is ASCII, so a text frame's payload length in bytes equals its length in characters.
 */
import { CLIENT_FRAME_CHARS, FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES, SEQ_PREFIX_RESERVE } from '../api-gateway';

/** Transport settings a caller may tighten (never loosen past what API Gateway enforces). */
export interface StratusTransportOptions {
  /**
   * Extra time in milliseconds to gather outgoing packets into one WebSocket message.
   * @default 0 (packets written in the same tick only)
   */
  batchMs?: number;
  /**
   * Largest frame payload to send, in bytes of base64 text, at most FRAME_LIMIT_BYTES (32,768).
   * The default fits "32 KB" read as 32,000 as well as 32,768: raise it only for a stage shown to
   * take 32,768-character frames (`npm run smoke:aws`). @default CLIENT_FRAME_CHARS (32000)
   */
  maxFrameSize?: number;
  /** Largest message to send, in bytes of base64 text. @default MESSAGE_LIMIT_BYTES (131072) */
  maxMessageSize?: number;
  /**
   * Outgoing bytes (queued or not yet written to the socket) above which MQTT.js's writes are held
   * back, so `writeToStream` reports backpressure. @default 1 MiB
   */
  highWaterMark?: number;
  /**
   * Number each message (`<seq>:<base64>`, docs/TRANSPORT.md section 3), so the server can put
   * back in order two messages swapped before its queue. Costs 16 characters of each message's
   * budget: the largest packet is 98,292 bytes (23,988 without fragmentation). @default true
   */
  numbered?: boolean;
  /**
   * What the transport does on API Gateway's error frame (GatewayErrorFrameError: one of this
   * client's frames failed at the gateway and its packets are lost). 'report': emit the error and
   * keep the connection. 'reconnect': emit it and close the stream, so that MQTT.js reconnects
   * (after `reconnectPeriod`) and resends its unacknowledged QoS 1/2 packets [MQTT-4.4.0-1].
   * docs/TRANSPORT.md section 4 weighs the two. @default 'report'
   */
  onGatewayError?: 'report' | 'reconnect';
}

export interface TransportLimits {
  readonly batchMs: number;
  readonly maxFrameSize: number;
  readonly maxMessageSize: number;
  readonly highWaterMark: number;
  readonly numbered: boolean;
  readonly onGatewayError: 'report' | 'reconnect';
}

/** Most bytes whose base64 fits in `chars` characters. */
export function bytesFitting(chars: number): number {
  return Math.floor(chars / 4) * 3;
}

/**
 * Largest message, in base64 characters, a socket can send. Without fragmentation (browsers'
 * WebSocket) a message is one frame.
 */
function messageBudget(limits: TransportLimits, canFragment: boolean): number {
  return canFragment ? limits.maxMessageSize : Math.min(limits.maxFrameSize, limits.maxMessageSize);
}

/**
 * Largest MQTT packet the transport can send: numbered, 98,292 bytes with fragmentation and
 * 23,988 without (one 32,000-character frame); unnumbered, 98,304 and 24,000.
 */
export function maxPacketSize(limits: TransportLimits, canFragment: boolean): number {
  return bytesFitting(messageBudget(limits, canFragment) - (limits.numbered ? SEQ_PREFIX_RESERVE : 0));
}

/** Applies defaults and rejects settings API Gateway would refuse. Throws RangeError. */
export function resolveLimits(options: StratusTransportOptions = {}): TransportLimits {
  const limits: TransportLimits = {
    batchMs: options.batchMs ?? 0,
    maxFrameSize: options.maxFrameSize ?? CLIENT_FRAME_CHARS,
    maxMessageSize: options.maxMessageSize ?? MESSAGE_LIMIT_BYTES,
    highWaterMark: options.highWaterMark ?? 1024 * 1024,
    numbered: options.numbered ?? true,
    onGatewayError: options.onGatewayError ?? 'report',
  };
  if (limits.onGatewayError !== 'report' && limits.onGatewayError !== 'reconnect') {
    throw new RangeError(`onGatewayError must be 'report' or 'reconnect', got ${String(limits.onGatewayError)}`);
  }
  // Room for at least one base64 quantum after the prefix.
  const smallest = 4 + (limits.numbered ? SEQ_PREFIX_RESERVE : 0);
  requireRange('batchMs', limits.batchMs, 0, 60_000);
  requireRange('maxFrameSize', limits.maxFrameSize, 4, FRAME_LIMIT_BYTES);
  requireRange('maxMessageSize', limits.maxMessageSize, smallest, MESSAGE_LIMIT_BYTES);
  requireRange('highWaterMark', limits.highWaterMark, 0, Number.MAX_SAFE_INTEGER);
  return limits;
}

function requireRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
