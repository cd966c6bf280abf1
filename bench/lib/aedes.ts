/**
 * Aedes, the reference broker of the benches: in memory, MQTT over binary WebSocket on loopback.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

export async function startAedes(): Promise<{ url: string; stop(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws) as never));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/mqtt`,
    stop: async () => {
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}
