/**
 * The commands as operators run them: `stratus bridge` fails fast, with one line and a non-zero
 * exit code, on a wrong or unreachable upstream; `stratus dev --tcp` serves stock clients over
 * plain TCP in strict mode.
 */
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../lib/cli/main';
import { dynamoDbEndpoint } from '../../helpers/dynamodb';
import { ensureStockClients } from './debian';
import { killAll, mosquittoPub, mosquittoSub, spawnProc, topic, type Proc } from './helpers';

const STRATUS = fileURLToPath(new URL('../../../bin/stratus.js', import.meta.url));
let notFound: Server;
let notFoundPort: number;

beforeAll(async () => {
  await ensureStockClients();
  // An HTTP server that is not Stratus: every upgrade gets a 404, as a wrong stage path would.
  notFound = createServer((_req, res) => res.writeHead(404).end());
  notFound.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
  await new Promise<void>((resolve) => notFound.listen(0, '127.0.0.1', resolve));
  notFoundPort = (notFound.address() as AddressInfo).port;
}, 300_000);

afterEach(() => killAll());
afterAll(() => new Promise<void>((resolve) => notFound.close(() => resolve())));

/** Runs the CLI in this process; returns its exit code and what it wrote to stderr. */
async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'stratus', ...args]);
    return { code, stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('stratus bridge: wrong or unreachable upstream', () => {
  it('exits 1 with one line naming the unreachable upstream, as a real process', async () => {
    const proc = spawnProc(process.execPath, [STRATUS, 'bridge', '--listen', 'mqtt://127.0.0.1:0', '--upstream', 'wss://127.0.0.1:9/mqtt?token=s3cret']);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr).toMatch(/^stratus: cannot reach upstream wss:\/\/127\.0\.0\.1:9\/mqtt\?…: .*ECONNREFUSED.*\n$/);
    expect(proc.stderr).not.toContain('s3cret');
  });

  it('an upstream that refuses the WebSocket upgrade (a wrong stage path) is reported with its HTTP status', async () => {
    const { code, stderr } = await run('bridge', '--listen', 'mqtt://127.0.0.1:0', '--upstream', `ws://127.0.0.1:${notFoundPort}/wrong`);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^stratus: cannot reach upstream ws:\/\/127\.0\.0\.1:\d+\/wrong: .*404.*\n$/);
  });

  it.each([
    [['--upstream', 'https://abc.execute-api.eu-west-1.amazonaws.com/mqtt'], /^stratus: invalid --upstream: must be a wss:\/\/ URL/],
    [['--upstream', 'ws://abc.execute-api.eu-west-1.amazonaws.com/mqtt'], /^stratus: invalid --upstream: must be wss:\/\//],
    [['--upstream', 'not a url'], /^stratus: invalid --upstream: not a URL/],
    [['--upstream', 'wss://x/mqtt', '--listen', 'http://0.0.0.0:80'], /^stratus: invalid --listen: scheme must be/],
    [['--upstream', 'wss://x/mqtt', '--listen', 'mqtts://0.0.0.0:0'], /^stratus: invalid --cert: required by mqtts/],
    [['--upstream', 'wss://x/mqtt', '--batch-ms', '-1'], /^stratus: invalid --batch-ms/],
  ])('bad input %j: one line naming the option, exit 1', async (args, pattern) => {
    const { code, stderr } = await run('bridge', ...args);
    expect(code).toBe(1);
    expect(stderr).toMatch(pattern);
    expect(stderr.trimEnd()).not.toContain('\n');
  });
});

describe('stratus dev --tcp', () => {
  let dev: Proc | undefined;
  afterEach(() => dev?.kill());

  it('serves stock MQTT clients over TCP in strict mode: mosquitto_pub to mosquitto_sub', async () => {
    dev = spawnProc(process.execPath, [STRATUS, 'dev', '--strict', '--port', '0', '--tcp', '0', '--dynamodb-endpoint', dynamoDbEndpoint()]);
    const banner = await dev.line(/Stock MQTT clients over TCP/);
    const port = Number(/mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]);
    const target = { host: '127.0.0.1', port };
    const t = topic('dev-tcp');
    const sub = await mosquittoSub(target, ['-t', t, '-q', '1', '-C', '1']);
    const pub = await mosquittoPub(target, ['-t', t, '-m', 'over tcp', '-q', '1']);
    expect(await pub.exited).toBe(0);
    expect(await sub.line(/^MSG /)).toBe(`MSG 1 0 ${t} over tcp`);
    dev.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
  });
});
