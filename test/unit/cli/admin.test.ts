/**
 * The admin commands in-process on memory stores: what they store, what they print (text and
 * --json), and how they fail: one `stratus: ` line, exit 2 for bad input, 1 for failures.
 */
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../lib/auth/password';
import { harness, NOW, ONE_ERROR_LINE } from './admin-harness';

describe('stratus user', () => {
  it('add --password-stdin stores a hash of the first line, never prints it', async () => {
    const h = harness();
    const out = await h.run(['user', 'add', 'alice', '--password-stdin'], { stdin: 's3cret pass\r\nignored\n' });
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toBe('user alice added\n');
    const stored = await h.stores.auth.getUser('alice');
    expect(stored?.record).toMatchObject({ name: 'alice', groups: [], createdAt: NOW });
    expect(await verifyPassword('s3cret pass', stored?.record.passwordHash ?? '')).toBe(true);

    const list = await h.run(['user', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([
      { name: 'alice', password: true, groups: [], createdAt: '2026-01-15T12:00:00Z' },
    ]);
    expect(list.stdout).not.toContain('scrypt');
  });

  it('a password typed as an unknown option is not echoed in the error line', async () => {
    const h = harness();
    const out = await h.run(['user', 'add', 'alice', '--password=hunter2']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(ONE_ERROR_LINE);
    expect(out.stderr).not.toContain('hunter2');
  });

  it('add prompts twice on a terminal, with echo off', async () => {
    const h = harness();
    const out = await h.run(['user', 'add', 'bob'], { tty: true, stdin: 'pw1\rpw1\r' });
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('Password for bob: \nRetype the password: \n');
    expect(await verifyPassword('pw1', (await h.stores.auth.getUser('bob'))?.record.passwordHash ?? '')).toBe(true);
  });

  it('add fails when the two typed passwords differ', async () => {
    const h = harness();
    const out = await h.run(['user', 'add', 'bob'], { tty: true, stdin: 'one\rtwo\r' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/stratus: the passwords do not match\n$/);
    expect(await h.stores.auth.getUser('bob')).toBeUndefined();
  });

  it('add with groups checks that they exist', async () => {
    const h = harness();
    expect((await h.run(['group', 'add', 'ops'])).code).toBe(0);
    const missing = await h.run(['user', 'add', 'carol', '--no-password', '--group', 'ops,devs']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('stratus: group devs does not exist (create it with stratus group add devs)\n');
    await h.run(['group', 'add', 'devs']);
    const ok = await h.run(['user', 'add', 'carol', '--no-password', '--group', 'ops', '--group', 'devs', '--json']);
    expect(JSON.parse(ok.stdout)).toEqual({ name: 'carol', password: false, groups: ['devs', 'ops'], createdAt: '2026-01-15T12:00:00Z' });
  });

  it('add of an existing user fails with exit 1', async () => {
    const h = harness();
    await h.run(['user', 'add', 'alice', '--no-password']);
    const again = await h.run(['user', 'add', 'alice', '--password-stdin'], { stdin: 'x\n' });
    expect(again).toEqual({ code: 1, stdout: '', stderr: 'stratus: user alice already exists\n' });
  });

  it.each([
    [['user', 'add', 'a/b', '--no-password'], /^stratus: invalid NAME: /],
    [['user', 'add', 'alice'], /stdin is not a terminal: pass --password-stdin/],
    [['user', 'add', 'alice', '--no-password', '--password-stdin'], /--no-password and --password-stdin exclude each other/],
    [['user', 'add', 'alice', '--no-password', '--group', 'anonymous'], /invalid --group: the group anonymous is built in/],
    [['user', 'add', 'alice', '--no-password', '--group', 'a b'], /invalid --group: /],
    [['user', 'add', 'alice', '--password', 'x'], /unknown option '--password'/],
    [['user', 'add'], /missing required argument 'name'/],
    [['user', 'frob'], /unknown command 'frob'/],
    [['user'], /missing command: stratus user add\|remove\|passwd\|list\|groups/],
    [['user', 'list', '--stack', 'prod', '--dynamodb-endpoint', 'http://x:1'], /--stack and --dynamodb-endpoint exclude each other/],
    [['user', 'list', '--region', 'eu-west-1'], /--region needs --stack/],
    [['user', 'list', '--stack', 'prod', '--region', 'Europe'], /invalid --region: an AWS region/],
    [['user', 'list', '--dynamodb-endpoint', 'nope'], /invalid --dynamodb-endpoint: /],
    [['user', 'list', '--table-prefix', 'a b'], /invalid --table-prefix: /],
  ])('bad input %j: exit 2, one line naming the problem', async (argv, pattern) => {
    const out = await harness().run(argv);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(ONE_ERROR_LINE);
    expect(out.stderr).toMatch(pattern);
    expect(out.stdout).toBe('');
  });

  it('an empty password on stdin is bad input', async () => {
    const out = await harness().run(['user', 'add', 'alice', '--password-stdin'], { stdin: '\n' });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/no password on stdin/);
  });

  it('a password over 1024 bytes is bad input', async () => {
    const out = await harness().run(['user', 'add', 'alice', '--password-stdin'], { stdin: `${'x'.repeat(1025)}\n` });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^stratus: invalid password: /);
  });

  it('passwd replaces the hash; --no-password removes it', async () => {
    const h = harness();
    await h.run(['user', 'add', 'alice', '--password-stdin'], { stdin: 'old\n' });
    const changed = await h.run(['user', 'passwd', 'alice', '--password-stdin'], { stdin: 'new\n' });
    expect(changed).toMatchObject({ code: 0, stdout: 'password of alice changed\n' });
    expect(await verifyPassword('new', (await h.stores.auth.getUser('alice'))?.record.passwordHash ?? '')).toBe(true);
    await h.run(['user', 'passwd', 'alice', '--no-password']);
    expect((await h.stores.auth.getUser('alice'))?.record.passwordHash).toBeNull();
    const missing = await h.run(['user', 'passwd', 'zed', '--password-stdin'], { stdin: 'x\n' });
    expect(missing).toMatchObject({ code: 1, stderr: 'stratus: user zed does not exist\n' });
  });

  it('remove deletes the user; a missing user is exit 1', async () => {
    const h = harness();
    await h.run(['user', 'add', 'alice', '--no-password']);
    expect((await h.run(['user', 'remove', 'alice'])).code).toBe(0);
    expect(await h.stores.auth.getUser('alice')).toBeUndefined();
    expect(await h.run(['user', 'remove', 'alice'])).toMatchObject({ code: 1, stderr: 'stratus: user alice does not exist\n' });
  });

  it('list prints a table, or "no users"', async () => {
    const h = harness();
    expect((await h.run(['user', 'list'])).stdout).toBe('no users\n');
    await h.run(['group', 'add', 'ops']);
    await h.run(['user', 'add', 'alice', '--password-stdin', '--group', 'ops'], { stdin: 'pw\n' });
    await h.run(['user', 'add', 'bob', '--no-password']);
    expect((await h.run(['user', 'list'])).stdout).toBe(
      [
        'NAME   PASSWORD  GROUPS  CREATED',
        'alice  yes       ops     2026-01-15T12:00:00Z',
        'bob    no        -       2026-01-15T12:00:00Z',
        '',
      ].join('\n'),
    );
  });

  it('groups shows, adds, removes and sets the groups of a user', async () => {
    const h = harness();
    for (const g of ['a', 'b', 'c']) await h.run(['group', 'add', g]);
    await h.run(['user', 'add', 'alice', '--no-password', '--group', 'a']);
    expect((await h.run(['user', 'groups', 'alice'])).stdout).toBe('alice: a\n');
    expect((await h.run(['user', 'groups', 'alice', '--add', 'b,c', '--remove', 'a'])).stdout).toBe('alice: b, c\n');
    expect((await h.run(['user', 'groups', 'alice', '--set', 'a', '--json'])).stdout).toBe(
      `${JSON.stringify({ name: 'alice', groups: ['a'] }, null, 2)}\n`,
    );
    expect((await h.run(['user', 'groups', 'alice', '--set', ''])).stdout).toBe('alice: no groups\n');
    expect((await h.run(['user', 'groups', 'alice', '--add', 'zz'])).code).toBe(1);
    expect((await h.run(['user', 'groups', 'alice', '--set', 'a', '--add', 'b'])).code).toBe(2);
  });
});

describe('stratus group', () => {
  it('add, list (with the built-in anonymous group), remove (members leave it)', async () => {
    const h = harness();
    expect((await h.run(['group', 'add', 'ops', '--description', 'operators'])).stdout).toBe('group ops added\n');
    await h.run(['user', 'add', 'alice', '--no-password', '--group', 'ops']);
    expect((await h.run(['group', 'list'])).stdout).toBe(
      ['NAME       MEMBERS  DESCRIPTION', 'anonymous  -        built in: rules for anonymous clients', 'ops        1        operators', ''].join('\n'),
    );
    const removed = await h.run(['group', 'remove', 'ops']);
    expect(removed.stdout).toBe('group ops removed, with its rules (1 member left it)\n');
    expect((await h.stores.auth.getUser('alice'))?.record.groups).toEqual([]);
  });

  it.each([
    [['group', 'add', 'anonymous'], 2, /the group anonymous is built in/],
    [['group', 'remove', 'anonymous'], 2, /the group anonymous is built in/],
    [['group', 'add', 'ops', '--description', 'two\nlines'], 2, /invalid --description: one line of text/],
    [['group', 'remove', 'nobody'], 1, /^stratus: group nobody does not exist\n$/],
  ])('%j fails with exit %i', async (argv, code, pattern) => {
    const out = await harness().run(argv);
    expect(out.code).toBe(code);
    expect(out.stderr).toMatch(ONE_ERROR_LINE);
    expect(out.stderr).toMatch(pattern);
  });

  it('add of an existing group is exit 1', async () => {
    const h = harness();
    await h.run(['group', 'add', 'ops']);
    expect(await h.run(['group', 'add', 'ops'])).toMatchObject({ code: 1, stderr: 'stratus: group ops already exists\n' });
  });
});

describe('stratus acl', () => {
  it('add prints the rule id; list and remove use it', async () => {
    const h = harness();
    await h.run(['user', 'add', 'alice', '--no-password']);
    const added = await h.run(['acl', 'add', '--user', 'alice', '--allow', '--both', 'plant/%u/#']);
    expect(added).toEqual({ code: 0, stdout: 'r1\n', stderr: '' });
    await h.run(['acl', 'add', '--group', 'anonymous', '--deny', '--publish', '$SYS/#']);
    expect((await h.stores.auth.listRules()).map((r) => r.rule)).toEqual([
      { id: 'r2', effect: 'deny', actions: ['publish'], pattern: '$SYS/#' },
      { id: 'r1', effect: 'allow', actions: ['publish', 'subscribe'], pattern: 'plant/%u/#' },
    ]);
    expect((await h.run(['acl', 'list'])).stdout).toBe(
      [
        'OWNER            ID  RULE',
        'group anonymous  r2  deny publish $SYS/#',
        'user alice       r1  allow publish,subscribe plant/%u/#',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await h.run(['acl', 'list', '--user', 'alice', '--json'])).stdout);
    expect(json).toEqual([
      { owner: { kind: 'user', name: 'alice' }, id: 'r1', effect: 'allow', actions: ['publish', 'subscribe'], pattern: 'plant/%u/#' },
    ]);
    expect((await h.run(['acl', 'remove', '--user', 'alice', 'r1'])).stdout).toBe('rule r1 of user alice removed\n');
    expect(await h.run(['acl', 'remove', '--user', 'alice', 'r1'])).toMatchObject({
      code: 1,
      stderr: 'stratus: user alice has no rule r1 (see stratus acl list --user alice)\n',
    });
  });

  it.each([
    [['acl', 'add', '--allow', '--publish', 'a/#'], /missing owner: pass --user NAME or --group NAME/],
    [['acl', 'add', '--user', 'a', '--group', 'b', '--allow', '--publish', 'a/#'], /--user and --group exclude each other/],
    [['acl', 'add', '--user', 'a', '--publish', 'a/#'], /exactly one of --allow and --deny/],
    [['acl', 'add', '--user', 'a', '--allow', '--both', '$share/g/#'], /invalid rule: a \$share pattern is for subscribe only/],
    [['acl', 'add', '--user', 'a', '--allow', '--subscribe', '$share/g+h/#'], /the share group is one level/],
    [['acl', 'add', '--user', 'a', '--allow', '--deny', '--publish', 'a/#'], /exactly one of --allow and --deny/],
    [['acl', 'add', '--user', 'a', '--allow', 'a/#'], /missing action: pass --publish, --subscribe or --both/],
    [['acl', 'add', '--user', 'a', '--allow', '--publish', 'a/#/b'], /^stratus: invalid PATTERN: not a valid topic filter/],
    [['acl', 'add', '--user', 'a', '--allow', '--publish', 'a/%x'], /invalid PATTERN: unknown placeholder %x/],
    [['acl', 'add', '--user', 'a', '--allow', '--publish', '$share/g/a'], /invalid rule: a \$share pattern is for subscribe only/],
    [['acl', 'add', '--user', 'a', '--allow', '--subscribe', '$share//a'], /invalid PATTERN: a shared subscription is \$share\/\{group\}\/\{filter\}/],
    [['acl', 'remove', '--user', 'a', 'bad id'], /invalid ID: /],
  ])('bad input %j: exit 2', async (argv, pattern) => {
    const out = await harness().run(argv);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(ONE_ERROR_LINE);
    expect(out.stderr).toMatch(pattern);
  });

  it('a rule for a user that does not exist is exit 1', async () => {
    const out = await harness().run(['acl', 'add', '--user', 'ghost', '--allow', '--publish', 'a/#']);
    expect(out).toMatchObject({ code: 1, stderr: 'stratus: user ghost does not exist\n' });
    expect((await harness().run(['acl', 'list', '--group', 'ghosts'])).stderr).toBe('stratus: group ghosts does not exist\n');
  });
});

describe('stratus sessions', () => {
  async function connected(h: ReturnType<typeof harness>, clientId: string, connectionId: string, username?: string) {
    await h.stores.connections.open({ connectionId, mode: 'text', connectedAt: NOW, requestTimeEpoch: NOW, expiresAt: NOW / 1000 + 3600 });
    await h.stores.connections.markConnected(connectionId, {
      clientId,
      protocolVersion: 5,
      keepAlive: 60,
      cleanStart: false,
      mqttConnectedAt: NOW,
      ...(username !== undefined && { username, principal: username }),
    });
    await h.stores.sessions.claim({
      clientId,
      connectionId,
      ...(username !== undefined && { principal: username }),
      cleanStart: false,
      protocolVersion: 5,
      sessionExpiryInterval: 300,
      requestTimeEpoch: NOW,
    });
  }

  it('list shows connected and offline sessions', async () => {
    const h = harness();
    await connected(h, 'sensor-1', 'conn-1', 'alice');
    await connected(h, 'sensor-2', 'conn-2');
    await h.stores.sessions.release({ clientId: 'sensor-2', connectionId: 'conn-2', now: NOW });
    const out = await h.run(['sessions', 'list']);
    expect(out.stdout).toBe(
      [
        'CLIENT ID  STATE      CONNECTION  PROTOCOL  USERNAME     EXPIRES',
        'sensor-1   connected  conn-1      5.0       alice        300s after disconnect',
        'sensor-2   offline    -           5.0       (anonymous)  2026-01-15T12:05:00Z',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await h.run(['sessions', 'list', '--connected', '--json'])).stdout);
    expect(json).toEqual([
      expect.objectContaining({ clientId: 'sensor-1', connected: true, connectionId: 'conn-1', protocolVersion: 5, username: 'alice' }),
    ]);
  });

  it('kick closes the live connection; offline, unknown and gone give one line and exit 1', async () => {
    const h = harness();
    await connected(h, 'sensor-1', 'conn-1');
    expect((await h.run(['sessions', 'kick', 'sensor-1'])).stdout).toBe('closed connection conn-1 of client sensor-1\n');
    expect(h.stores.kicked).toEqual(['conn-1']);
    h.stores.gone.add('conn-1');
    expect((await h.run(['sessions', 'kick', 'sensor-1'])).stderr).toBe(
      'stratus: the connection conn-1 of client sensor-1 is already gone\n',
    );
    await h.stores.sessions.release({ clientId: 'sensor-1', connectionId: 'conn-1', now: NOW });
    expect(await h.run(['sessions', 'kick', 'sensor-1'])).toMatchObject({
      code: 1,
      stderr: 'stratus: client sensor-1 has no live connection (its session is offline)\n',
    });
    expect(await h.run(['sessions', 'kick', 'nobody'])).toMatchObject({ code: 1, stderr: 'stratus: no session for client nobody\n' });
  });

  it('kick --management-endpoint is local mode only', async () => {
    const out = await harness().run(['sessions', 'kick', 'x', '--stack', 'prod', '--management-endpoint', 'http://127.0.0.1:1/mqtt']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--stack and --management-endpoint exclude each other/);
  });
});

describe('stratus retained', () => {
  async function retain(h: ReturnType<typeof harness>, topic: string, bytes: number, ageMs = 0) {
    await h.stores.retained.put({
      topic,
      payload: new Uint8Array(bytes),
      qos: 1,
      requestTimeEpoch: NOW - ageMs,
      receivedAt: NOW - ageMs,
      messageExpiresAt: null,
    });
  }

  it('list shows every topic ($ topics too), or those matching a filter', async () => {
    const h = harness();
    await retain(h, 'plant/a/temp', 5, 90_000);
    await retain(h, 'plant/b/temp', 12);
    await retain(h, '$SYS/broker/uptime', 3, 7_200_000);
    expect((await h.run(['retained', 'list'])).stdout).toBe(
      [
        'TOPIC               QOS  BYTES  AGE',
        '$SYS/broker/uptime  1    3      2h',
        'plant/a/temp        1    5      1m',
        'plant/b/temp        1    12     0s',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await h.run(['retained', 'list', 'plant/+/temp', '--json'])).stdout);
    expect(json.map((r: { topic: string }) => r.topic)).toEqual(['plant/a/temp', 'plant/b/temp']);
    expect((await h.run(['retained', 'list', 'x/#'])).stdout).toBe('no retained messages match x/#\n');
    expect((await h.run(['retained', 'list', 'a/#/b'])).code).toBe(2);
  });

  it('clear deletes one topic; a filter or --all needs --yes', async () => {
    const h = harness();
    await retain(h, 'plant/a/temp', 5);
    await retain(h, 'plant/b/temp', 5);
    await retain(h, 'other', 5);
    expect((await h.run(['retained', 'clear', 'plant/a/temp'])).stdout).toBe('cleared 1 retained message\n');
    expect(await h.stores.retained.get('plant/a/temp')).toBeUndefined();
    expect(await h.run(['retained', 'clear', 'plant/a/temp'])).toMatchObject({
      code: 1,
      stderr: 'stratus: no retained message on topic plant/a/temp\n',
    });
    expect((await h.run(['retained', 'clear', 'plant/#'])).stderr).toBe(
      'stratus: plant/# is a filter: it may clear many topics; add --yes to confirm\n',
    );
    expect((await h.run(['retained', 'clear', 'plant/#', '--yes'])).stdout).toBe('cleared 1 retained message\n');
    expect((await h.run(['retained', 'clear', '--all'])).code).toBe(2);
    expect((await h.run(['retained', 'clear'])).code).toBe(2);
    expect((await h.run(['retained', 'clear', 'other', '--all', '--yes'])).code).toBe(2);
    expect((await h.run(['retained', 'clear', '--all', '--yes', '--json'])).stdout).toBe(
      `${JSON.stringify({ cleared: ['other'], kept: [] }, null, 2)}\n`,
    );
    expect(await h.stores.retained.list()).toEqual([]);
  });

  it('a message retained after the clear (by arrival time) survives it', async () => {
    const h = harness();
    await retain(h, 'later', 5, -60_000); // arrived a minute "after" the CLI's clock
    expect((await h.run(['retained', 'clear', 'later'])).code).toBe(0);
    await retain(h, 'later', 6, -60_000 - 2); // an even newer publish
    expect((await h.stores.retained.get('later', NOW + 120_000))?.payload.byteLength).toBe(6);
  });
});

describe('targets', () => {
  it('local mode without any endpoint: one line, exit 1', async () => {
    const out = await harness({ env: { DYNAMODB_ENDPOINT: '' } }).run(['user', 'list']);
    expect(out).toEqual({
      code: 1,
      stdout: '',
      stderr: 'stratus: no local broker found: start it with npm start, or pass --dynamodb-endpoint\n',
    });
  });

  it('--dynamodb-endpoint and --table-prefix pick the local tables', async () => {
    const h = harness();
    await h.run(['user', 'list', '--dynamodb-endpoint', 'http://127.0.0.1:8000', '--table-prefix', 'mine-']);
    expect(h.stores.targets[0]).toMatchObject({
      kind: 'local',
      dynamodb: { endpoint: 'http://127.0.0.1:8000' },
      tables: { auth: 'mine-auth', sessions: 'mine-sessions' },
    });
  });

  it('--help prints the command reference and exits 0', async () => {
    const out = await harness().run(['acl', 'add', '--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/--password|--allow/);
    expect(out.stdout).toMatch(/--stack <name>/);
  });
});
