/**
 * The admin commands against DynamoDB Local, through the real command path (target resolution,
 * the DynamoDB adapters, @connections DELETE of the local gateway): in-process with runAdmin, and
 * once through the `stratus` binary when lib/cli/main.ts registers the admin commands.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../lib/auth/password';
import { runAdmin } from '../../../lib/cli/admin/index';
import { buildProgram } from '../../../lib/cli/main';
import { connect } from '../../../lib/client';
import { DynamoAuthStore } from '../../../lib/store/dynamodb/auth-store';
import { ROUTE_KEY, toSubscriptionItem } from '../../../lib/store/dynamodb/subscription-codec';
import { DynamoSubscriptionStore } from '../../../lib/store/dynamodb/subscription-store';
import { eventually } from '../../helpers/eventually';
import { useDynamoTables } from '../../helpers/dynamodb';
import { subscriptionRecord } from '../../helpers/subscription-record';
import { startTestBroker, type TestBroker } from '../../helpers/local-broker';

const db = await useDynamoTables();
const target = ['--dynamodb-endpoint', db.endpoint, '--table-prefix', db.prefix];
const cwd = mkdtempSync(join(tmpdir(), 'stratus-admin-it-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function stratus(argv: string[], stdin?: string): Promise<Run> {
  const input = new PassThrough();
  input.end(stdin ?? '');
  let stdout = '';
  let stderr = '';
  const code = await runAdmin(argv, {
    io: { stdin: input, stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}

function json<T = unknown>(run: Run): T {
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(run.stdout) as T;
}

describe('subscriptions migrate-routes on DynamoDB Local', () => {
  it('moves a subscription stored under its 0.1 route key, then a rerun moves nothing', async () => {
    const filter = `legacy/${randomUUID().slice(0, 8)}/cmd`;
    const item = toSubscriptionItem(subscriptionRecord('legacy-device', filter));
    await db.metered.putItem({ TableName: db.names.subscriptions, Item: { ...item, [ROUTE_KEY]: { S: 'legacy' } } });
    const first = json<{ checked: number; moved: number }>(await stratus(['subscriptions', 'migrate-routes', '--json', ...target]));
    expect(first.moved).toBe(1);
    const routes = await new DynamoSubscriptionStore(db.metered, db.names.subscriptions).routesFor(filter);
    expect(routes.map((r) => r.filter)).toContain(filter);
    expect(await stratus(['subscriptions', 'migrate-routes', ...target])).toMatchObject({ code: 0, stdout: expect.stringMatching(/moved 0 /) });
  });
});

describe('users, groups and rules on DynamoDB Local', () => {
  it('user add with a password from stdin; list shows it, without the hash', async () => {
    expect(await stratus(['group', 'add', 'ops', '--description', 'operators', ...target])).toMatchObject({ code: 0 });
    const added = await stratus(['user', 'add', 'alice', '--password-stdin', '--group', 'ops', ...target], 'open sesame\n');
    expect(added).toEqual({ code: 0, stdout: 'user alice added in ops\n', stderr: '' });
    const stored = await new DynamoAuthStore(db.metered, db.names.auth).getUser('alice');
    expect(await verifyPassword('open sesame', stored?.record.passwordHash ?? '')).toBe(true);

    const users = json<Array<Record<string, unknown>>>(await stratus(['user', 'list', '--json', ...target]));
    expect(users).toEqual([expect.objectContaining({ name: 'alice', password: true, groups: ['ops'] })]);
    expect(JSON.stringify(users)).not.toContain('scrypt');

    expect(await stratus(['user', 'add', 'alice', '--no-password', ...target])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'stratus: user alice already exists\n',
    });
  });

  it('acl add prints an id that list and remove accept', async () => {
    await stratus(['user', 'add', 'bob', '--no-password', ...target]);
    const added = await stratus(['acl', 'add', '--user', 'bob', '--allow', '--publish', 'plant/%u/#', ...target]);
    expect(added.code).toBe(0);
    const id = added.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    await stratus(['acl', 'add', '--group', 'anonymous', '--deny', '--both', '#', ...target]);
    const rules = json<Array<{ owner: { name: string }; id: string; pattern: string }>>(
      await stratus(['acl', 'list', '--json', ...target]),
    );
    expect(rules.map((r) => [r.owner.name, r.pattern])).toEqual([
      ['anonymous', '#'],
      ['bob', 'plant/%u/#'],
    ]);
    expect(await stratus(['acl', 'remove', '--user', 'bob', id, ...target])).toMatchObject({ code: 0 });
    expect(json(await stratus(['acl', 'list', '--user', 'bob', '--json', ...target]))).toEqual([]);
  });

  it('group remove takes the group out of its members', async () => {
    await stratus(['group', 'add', 'temp', ...target]);
    await stratus(['user', 'add', 'carol', '--no-password', '--group', 'temp', ...target]);
    expect((await stratus(['group', 'remove', 'temp', ...target])).stdout).toBe(
      'group temp removed, with its rules (1 member left it)\n',
    );
    expect(json(await stratus(['user', 'groups', 'carol', '--json', ...target]))).toEqual({ name: 'carol', groups: [] });
  });

  it('user remove, then remove again: exit 1', async () => {
    await stratus(['user', 'add', 'dave', '--no-password', ...target]);
    expect((await stratus(['user', 'remove', 'dave', ...target])).code).toBe(0);
    expect(await stratus(['user', 'remove', 'dave', ...target])).toMatchObject({
      code: 1,
      stderr: 'stratus: user dave does not exist\n',
    });
  });
});

describe('retained messages on DynamoDB Local', () => {
  it('list shows every topic ($ topics too); clear deletes one, a filter with --yes', async () => {
    const { retained } = db.stores();
    const now = Date.now();
    for (const topic of ['plant/a/temp', 'plant/b/temp', '$SYS/uptime']) {
      await retained.put({ topic, payload: new Uint8Array(4), qos: 1, requestTimeEpoch: now, receivedAt: now, messageExpiresAt: null });
    }
    const all = json<Array<{ topic: string; bytes: number }>>(await stratus(['retained', 'list', '--json', ...target]));
    expect(all.map((r) => r.topic)).toEqual(['$SYS/uptime', 'plant/a/temp', 'plant/b/temp']);
    expect(all[0]?.bytes).toBe(4);

    expect((await stratus(['retained', 'clear', 'plant/a/temp', ...target])).stdout).toBe('cleared 1 retained message\n');
    expect(await retained.get('plant/a/temp')).toBeUndefined();
    expect((await stratus(['retained', 'clear', 'plant/#', '--yes', ...target])).stdout).toBe('cleared 1 retained message\n');
    const left = json<Array<{ topic: string }>>(await stratus(['retained', 'list', '--json', ...target]));
    expect(left.map((r) => r.topic)).toEqual(['$SYS/uptime']);
  });
});

describe('sessions on a local broker', () => {
  let broker: TestBroker;
  let brokerTarget: string[];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startTestBroker();
    const prefix = broker.tables.connections.slice(0, -'connections'.length);
    brokerTarget = ['--dynamodb-endpoint', broker.dynamodbEndpoint, '--table-prefix', prefix];
  });

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await broker?.dispose();
  });

  function open(clientId: string, version: 4 | 5): Promise<MqttClient> {
    const client = connect(broker.url, {
      clientId,
      protocolVersion: version,
      clean: false,
      reconnectPeriod: 0,
      ...(version === 5 && { properties: { sessionExpiryInterval: 600 } }),
    });
    clients.push(client);
    return new Promise((resolve, reject) => {
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });
  }

  it.each([4, 5] as const)('list shows a connected client (protocol %i); kick closes it; then it is offline', async (version) => {
    const clientId = `kick-${version}-${randomUUID().slice(0, 6)}`;
    const client = await open(clientId, version);
    let closed = false;
    client.once('close', () => (closed = true));

    const listed = json<Array<{ clientId: string; connected: boolean; connectionId: string; protocolVersion: number }>>(
      await stratus(['sessions', 'list', '--json', ...brokerTarget]),
    );
    const mine = listed.find((s) => s.clientId === clientId);
    expect(mine).toMatchObject({ connected: true, protocolVersion: version });

    const kicked = await stratus(['sessions', 'kick', clientId, '--management-endpoint', broker.managementEndpoint, ...brokerTarget]);
    expect(kicked).toEqual({ code: 0, stdout: `closed connection ${mine?.connectionId} of client ${clientId}\n`, stderr: '' });
    await eventually(() => closed);

    await eventually(async () => {
      const after = json<Array<{ clientId: string; connected: boolean }>>(
        await stratus(['sessions', 'list', '--json', ...brokerTarget]),
      );
      return after.some((s) => s.clientId === clientId && !s.connected);
    });
    const again = await stratus(['sessions', 'kick', clientId, '--management-endpoint', broker.managementEndpoint, ...brokerTarget]);
    expect(again).toEqual({
      code: 1,
      stdout: '',
      stderr: `stratus: client ${clientId} has no live connection (its session is offline)\n`,
    });
  });

  it('kick without a known @connections endpoint says how to give one', async () => {
    const clientId = `nokick-${randomUUID().slice(0, 6)}`;
    await open(clientId, 5);
    const out = await stratus(['sessions', 'kick', clientId, ...brokerTarget]);
    expect(out).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'stratus: no @connections endpoint known for local mode: start the broker with npm start, or pass --management-endpoint\n',
    });
  });
});

describe('local mode without a broker', () => {
  it('a refused connection names the endpoint', async () => {
    const out = await stratus(['user', 'list', '--dynamodb-endpoint', 'http://127.0.0.1:9', '--table-prefix', 'x-']);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(
      'stratus: cannot reach DynamoDB at http://127.0.0.1:9: is the local broker running? start it with npm start\n',
    );
  });
});

describe('the stratus binary', () => {
  const registered = buildProgram().commands.some((command) => command.name() === 'user');
  const bin = fileURLToPath(new URL('../../../bin/stratus.js', import.meta.url));

  function spawnStratus(argv: string[], input?: string) {
    // Node 20: the AWS SDK warns once per process that it will need Node 22; not part of the output under test
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    delete env.DYNAMODB_ENDPOINT;
    return spawnSync(process.execPath, [bin, ...argv], { input, encoding: 'utf8', cwd, env, timeout: 60_000 });
  }

  it.skipIf(!registered)('user add --password-stdin and user list --json, as a process', () => {
    const added = spawnStratus(['user', 'add', 'erin', '--password-stdin', ...target], 'from a pipe\n');
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    const listed = spawnStratus(['user', 'list', '--json', ...target]);
    expect(listed.status).toBe(0);
    const users = JSON.parse(listed.stdout) as Array<{ name: string; password: boolean }>;
    expect(users).toContainEqual(expect.objectContaining({ name: 'erin', password: true }));
  });

  it.skipIf(!registered)('bad input: exit 2 and one line', () => {
    const out = spawnStratus(['acl', 'add', '--user', 'erin', '--allow', 'a/#', ...target]);
    expect(out.status).toBe(2);
    expect(out.stderr).toBe('stratus: missing action: pass --publish, --subscribe or --both\n');
  });
});
