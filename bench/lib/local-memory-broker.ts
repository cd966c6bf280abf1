/**
 * The broker side of `npm run bench:local-memory`, in a process of its own so that the bench's
 * clients do not share its event loop (as devices do not share a broker's CPU): Aedes in memory
 * over binary WebSocket, or Stratus local mode on the memory store. Prints `{"url":…}` on one
 * line once it listens; stops when its stdin closes.
 *
 *   tsx bench/lib/local-memory-broker.ts aedes|stratus [ordered|direct]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { startLocalBroker } from '../../lib/local/local-broker';
import { memoryStorage } from '../../lib/local/memory-store';
import { silentLogger } from '../../lib/log';

const [kind, ingress = 'ordered'] = process.argv.slice(2);

async function aedes(): Promise<{ url: string; stop: () => Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => broker.handle(createWebSocketStream(ws) as never));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/mqtt`,
    stop: async () => {
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

async function stratus(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (ingress !== 'ordered' && ingress !== 'direct') throw new Error(`ingress must be ordered or direct, got ${JSON.stringify(ingress)}`);
  const broker = await startLocalBroker({ storage: memoryStorage(), gateway: { port: 0, ingress }, log: silentLogger, sweepIntervalMs: 0 });
  return { url: broker.url, stop: () => broker.stop() };
}

if (kind !== 'aedes' && kind !== 'stratus') {
  console.error(`broker must be aedes or stratus, got ${JSON.stringify(kind)}`);
  process.exit(2);
}
const broker = kind === 'aedes' ? await aedes() : await stratus();
process.stdout.write(`${JSON.stringify({ url: broker.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void broker.stop().finally(() => process.exit(0));
});
