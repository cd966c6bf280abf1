/**
 * The DynamoDB Local launcher: start, persistence, failures, and no orphan JVM in any case.
 * Each test that starts a JVM stops it, whether it passes or fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DYNAMODB_ENDPOINT_ENV,
  DynamoDbLocalStartError,
  InvalidDynamoEndpointError,
  JavaRequiredError,
  dynamoEndpointFromEnv,
  provideDynamoDb,
  startDynamoDbLocal,
  type DynamoDbLocal,
} from '../../../lib/local/dynamodb-local';
import { createDynamoDbClient } from '../../../lib/store/dynamodb/client';

const here = dirname(fileURLToPath(import.meta.url));
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Parameters<typeof startDynamoDbLocal>[0] = {}): Promise<DynamoDbLocal> {
  const local = await startDynamoDbLocal(options);
  cleanups.push(() => local.stop());
  return local;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until the process is gone; returns whether it is. */
async function gone(pid: number, boundMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return !isRunning(pid);
}

/** Java processes this worker started that are still running. */
function javaChildren(): string[] {
  const { stdout } = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid, comm]) => ppid === String(process.pid) && /java/i.test(comm ?? ''))
    .map(([pid]) => pid);
}

async function listTables(endpoint: string): Promise<string[]> {
  const client = createDynamoDbClient({ endpoint });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

describe('startDynamoDbLocal', () => {
  it('starts in memory on a free port, answers, and stop() ends the JVM', async () => {
    const local = await start();
    expect(local.endpoint).toBe(`http://127.0.0.1:${local.port}`);
    expect(await listTables(local.endpoint)).toEqual([]);
    expect(javaChildren()).toEqual([String(local.pid)]);
    await local.stop();
    expect(isRunning(local.pid)).toBe(false);
    expect(javaChildren()).toEqual([]);
    await expect(local.stop()).resolves.toBeUndefined();
  });

  it('persists to dataDir on the given port, across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stratus-ddb-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const { server, port } = await listen();
    await new Promise((r) => server.close(r));

    const first = await start({ dataDir: join(dataDir, 'nested'), port });
    expect(first.port).toBe(port);
    const client = createDynamoDbClient({ endpoint: first.endpoint });
    cleanups.push(() => client.destroy());
    await client.send(
      new CreateTableCommand({
        TableName: 'kept',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    );
    await first.stop();

    const second = await start({ dataDir: join(dataDir, 'nested') });
    expect(await listTables(second.endpoint)).toEqual(['kept']);
  });

  it('fails with a typed error and leaves no JVM when the port is taken', async () => {
    const { server, port } = await listen();
    cleanups.push(() => new Promise((r) => server.close(r)));
    await expect(startDynamoDbLocal({ port })).rejects.toBeInstanceOf(DynamoDbLocalStartError);
    expect(javaChildren()).toEqual([]);
  });

  it('fails fast with JavaRequiredError, saying how to install Java, when java is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(here, 'no-such-dir');
    try {
      const error = await startDynamoDbLocal().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JavaRequiredError);
      const message = (error as Error).message;
      expect(message.split('\n')).toHaveLength(1);
      expect(message).toContain('apt-get install openjdk-17-jre-headless');
      expect(message).toContain(DYNAMODB_ENDPOINT_ENV);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('no orphan JVM when the owning process ends without stop()', () => {
  async function runFixture(mode: 'exit' | 'wait', signal?: NodeJS.Signals): Promise<number> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/start-and-leave.ts'), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
    const exited = new Promise((r) => child.once('exit', r));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`fixture exited (${code}) before printing`)));
    });
    const { pid } = JSON.parse(line) as { pid: number };
    cleanups.push(() => isRunning(pid) && process.kill(pid, 'SIGKILL'));
    if (signal) child.kill(signal);
    await exited;
    return pid;
  }

  it('kills the JVM on process.exit()', async () => {
    const pid = await runFixture('exit');
    expect(await gone(pid)).toBe(true);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('kills the JVM on %s', async (signal) => {
    const pid = await runFixture('wait', signal);
    expect(await gone(pid)).toBe(true);
  });
});

describe('DYNAMODB_ENDPOINT', () => {
  it('selects an existing endpoint instead of starting one', async () => {
    const provided = await provideDynamoDb({}, { [DYNAMODB_ENDPOINT_ENV]: 'http://localhost:8000' });
    expect(provided).toMatchObject({ endpoint: 'http://localhost:8000', started: false });
    await expect(provided.stop()).resolves.toBeUndefined();
  });

  it('is unset when missing or blank', () => {
    expect(dynamoEndpointFromEnv({})).toBeUndefined();
    expect(dynamoEndpointFromEnv({ [DYNAMODB_ENDPOINT_ENV]: '  ' })).toBeUndefined();
  });

  it('must be an http(s) URL', () => {
    expect(() => dynamoEndpointFromEnv({ [DYNAMODB_ENDPOINT_ENV]: 'localhost:8000' })).toThrow(
      InvalidDynamoEndpointError,
    );
    expect(() => dynamoEndpointFromEnv({ [DYNAMODB_ENDPOINT_ENV]: 'not a url' })).toThrow(InvalidDynamoEndpointError);
  });
});
