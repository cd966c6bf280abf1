/**
 * The cloud side of a relay: one WebSocket to Stratus (API Gateway, or local mode) speaking the
 * Stratus framing, numbered base64 in text frames (docs/TRANSPORT.md). Each message is one text
 * message, fragmented into frames of at most 32,000 characters (CLIENT_FRAME_CHARS) when it is
 * longer. Also the start-up check that the upstream URL leads to a WebSocket server that accepts
 * the `mqtt` subprotocol.
 */
import WebSocket from 'ws';
import { encodeBase64 } from '../base64';
import { numberMessage, splitFrames } from '../framing';
import { redactUrl } from './options';
import { CLIENT_FRAME_CHARS } from '../../api-gateway';

export interface UpstreamTarget {
  readonly url: string;
  /** Extra CA certificates (PEM) to trust */
  readonly ca?: Buffer;
  readonly connectTimeoutMs: number;
}

/** The upstream cannot be reached, or refuses the WebSocket upgrade. */
export class UpstreamUnreachableError extends Error {
  readonly code = 'STRATUS_UPSTREAM_UNREACHABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamUnreachableError';
  }
}

export function openUpstream(target: UpstreamTarget, subprotocol: string): WebSocket {
  // API Gateway does not negotiate permessage-deflate; frame sizes stay what we computed.
  return new WebSocket(target.url, [subprotocol], {
    perMessageDeflate: false,
    handshakeTimeout: target.connectTimeoutMs,
    ...(target.ca ? { ca: target.ca } : {}),
    headers: { 'User-Agent': 'stratus-bridge' },
  });
}

/**
 * Sends MQTT bytes (whole packets) as one numbered text message, `<seq>:<base64>`
 * (docs/TRANSPORT.md section 3). Returns the text's length, the size API Gateway meters (in 32 KB
 * steps).
 */
export function sendMessage(ws: WebSocket, seq: number, bytes: Uint8Array, done: (error?: Error) => void): number {
  const text = numberMessage(seq, encodeBase64(bytes));
  const frames = splitFrames(text, CLIENT_FRAME_CHARS);
  const last = frames.length - 1;
  frames.forEach((frame, i) => ws.send(frame, { binary: false, fin: i === last }, i === last ? done : undefined));
  return text.length;
}

/** One line saying why the upstream failed, without the URL's query string (tokens live there). */
export function describeFailure(target: UpstreamTarget, error: Error): string {
  const code = (error as { code?: unknown }).code;
  const why = typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  return `cannot reach upstream ${redactUrl(target.url)}: ${why}`;
}

/**
 * Opens one WebSocket with the `mqtt` subprotocol and closes it as soon as it is open. Rejects
 * with UpstreamUnreachableError when the host is unknown, refuses, times out, fails TLS, or
 * answers the upgrade with an HTTP error (a wrong stage path, a refusing authorizer).
 */
export function probeUpstream(target: UpstreamTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = openUpstream(target, 'mqtt');
    } catch (error) {
      reject(new UpstreamUnreachableError(describeFailure(target, error as Error), { cause: error }));
      return;
    }
    ws.once('open', () => {
      ws.close(1000);
      resolve();
    });
    ws.once('error', (error) => {
      ws.terminate();
      reject(new UpstreamUnreachableError(describeFailure(target, error), { cause: error }));
    });
  });
}
