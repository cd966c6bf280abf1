/**
 * Socket-level helpers of the local gateway: refusing an upgrade, the headers of an accepted one,
 * closing, data conversion.
 */
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

/** How long `stop()` waits for a client to answer the close before dropping the socket. */
const CLOSE_GRACE_MS = 1_000;

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    typeof req.headers['sec-websocket-key'] === 'string'
  );
}

/** Answers the upgrade request with a plain HTTP status and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, body = STATUS_CODES[status] ?? ''): void {
  if (socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n` +
      'Connection: close\r\nContent-Type: text/plain\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The subprotocol `$connect` chose: its `Sec-WebSocket-Protocol` header, or false for none. */
export function chosenProtocol(headers: Record<string, string>): string | false {
  const name = Object.keys(headers).find((key) => key.toLowerCase() === 'sec-websocket-protocol');
  return name === undefined ? false : (headers[name] as string);
}

/** The other headers `$connect` returned, as handshake lines; ws writes the reserved ones itself. */
export function extraHeaderLines(headers: Record<string, string>): string[] {
  const reserved = new Set(['sec-websocket-protocol', 'sec-websocket-accept', 'upgrade', 'connection']);
  return Object.entries(headers)
    .filter(([name, value]) => !reserved.has(name.toLowerCase()) && !/[\r\n]/.test(name + value))
    .map(([name, value]) => `${name}: ${value}`);
}

export function closedOrTerminated(ws: WebSocket): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
