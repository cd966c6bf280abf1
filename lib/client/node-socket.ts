/**
 * The `ws` adapter: Node only, loaded by socket.ts through a dynamic import. `ws` can send one
 * message as several frames (`fin: false` ... `fin: true`), which lets a message reach 128 KB while
 * every frame stays within 32,000 characters.
 */

import WebSocket, { type RawData } from 'ws';
import type { SocketEvents, SocketTarget, TextSocket } from './socket-types';

export function openNodeSocket(target: SocketTarget, events: SocketEvents): TextSocket {
  // API Gateway does not negotiate permessage-deflate; keep frame sizes what we computed.
  const socket = new WebSocket(target.url, target.protocols, { perMessageDeflate: false, ...target.wsOptions });
  socket.on('open', () => events.open());
  socket.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = toBuffer(data);
    if (isBinary) events.binary(bytes);
    else events.text(bytes.toString('latin1'));
  });
  socket.on('close', (code: number, reason: Buffer) => events.close(code, reason.toString()));
  socket.on('error', (error: Error) => events.error(error));
  return {
    send(frames, done) {
      const last = frames.length - 1;
      frames.forEach((frame, i) => {
        socket.send(frame, { binary: false, fin: i === last }, i === last ? done : undefined);
      });
    },
    close() {
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
