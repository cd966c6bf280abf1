/**
 * The broker side of `npm run bench:local-memory`, in a process of its own so that the bench's
 * clients do not share its event loop (as devices do not share a broker's CPU): Aedes in memory
 * over binary WebSocket, or Stratus local mode on the memory store. Prints `{"url":…}` on one
 * line once it listens; answers a `cpu` line on stdin with `{"cpuMs":…}` (its CPU time so far,
 * user and system); stops when its stdin closes.
 *
 *   tsx bench/lib/local-memory-broker.ts aedes|stratus [ordered|direct]
 */
import { createInterface } from 'node:readline';
import { startLocalBroker } from '../../lib/local/local-broker';
import { startAedes } from './aedes';
import { memoryStorage } from '../../lib/local/memory-store';
import { silentLogger } from '../../lib/log';

const [kind, ingress = 'ordered'] = process.argv.slice(2);

async function stratus(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (ingress !== 'ordered' && ingress !== 'direct') throw new Error(`ingress must be ordered or direct, got ${JSON.stringify(ingress)}`);
  const broker = await startLocalBroker({ storage: memoryStorage(), gateway: { port: 0, ingress }, log: silentLogger, sweepIntervalMs: 0 });
  return { url: broker.url, stop: () => broker.stop() };
}

if (kind !== 'aedes' && kind !== 'stratus') {
  console.error(`broker must be aedes or stratus, got ${JSON.stringify(kind)}`);
  process.exit(2);
}
const broker = kind === 'aedes' ? await startAedes() : await stratus();
process.stdout.write(`${JSON.stringify({ url: broker.url })}\n`);
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (line.trim() !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuMs: (user + system) / 1000 })}\n`);
});
commands.on('close', () => {
  void broker.stop().finally(() => process.exit(0));
});
