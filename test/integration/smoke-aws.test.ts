/**
 * `npm run smoke:aws` (`stratus smoke`) against local strict mode, which behaves like API Gateway
 * (text frames only, the 32 KB frame and 128 KB message limits), on DynamoDB Local: with a
 * password user and anonymous clients refused every line passes (or is skipped where the check
 * says so), for MQTT 3.1.1 and 5. Then a stack that lets anonymous clients in, told apart from
 * one that refuses them; bad arguments; and a broker that cannot be reached, which fails every
 * line without hanging.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../lib/auth/password';
import { runChecks, runSmoke, type CheckResult } from '../../lib/cli/smoke/index';
import { CheckScope, type SmokeCheck, type SmokeContext } from '../../lib/cli/smoke/check';
import type { ReadStack } from '../../lib/cli/smoke/stack';
import { DynamoAuthStore } from '../../lib/store/dynamodb/auth-store';
import { createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { MeteredDynamoDb } from '../../lib/store/dynamodb/metered';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const noStack: ReadStack = async () => {
  throw new Error('no stack in this test');
};

async function smoke(argv: string[], env: Record<string, string> = {}, readStack: ReadStack = noStack): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runSmoke(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
    readStack,
  });
  return { code, stdout, stderr };
}

/** The `--json` lines by check id. */
function lines(run: Run): Map<string, CheckResult> {
  const results = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as CheckResult);
  return new Map(results.map((r) => [r.check, r]));
}

describe('against local strict mode with a password user, anonymous clients refused', () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startTestBroker({ broker: { allowAnonymous: false } });
    const client = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
    const store = new DynamoAuthStore(new MeteredDynamoDb(client), broker.tables.auth);
    await store.createUser({ name: 'smoke', passwordHash: await hashPassword('smoke-pw'), groups: [], createdAt: Date.now() });
    await store.addRule({ kind: 'user', name: 'smoke' }, { id: 's1', effect: 'allow', actions: ['publish', 'subscribe'], pattern: 'stratus-smoke/#' });
    client.destroy();
  });

  afterAll(async () => {
    await broker?.dispose();
  });

  describe.each([4, 5] as const)('MQTT %i', (version) => {
    let run: Run;
    let results: Map<string, CheckResult>;

    beforeAll(async () => {
      run = await smoke(['--url', broker.url, '--username', 'smoke', '--protocol', String(version), '--json'], { STRATUS_SMOKE_PASSWORD: 'smoke-pw' });
      results = lines(run);
    }, 300_000);

    it('exits 0 with one JSON line per check and nothing on stderr', () => {
      expect(run.stderr).toBe('');
      expect([...results.keys()]).toEqual(['subprotocol', 'frame-type', 'frame-boundary', 'qos1', 'qos2', 'ordering', 'will', 'anonymous', 'integration-error']);
      expect(run.code).toBe(0);
    });

    it('[MQTT-6.0.0-4] the upgrade echoes the subprotocol mqtt a browser offers, and CONNECT is accepted', () => {
      expect(results.get('subprotocol')).toMatchObject({ status: 'pass', data: { protocol: 'mqtt', connack: 0 } });
    });

    it('posts arrive as text frames in strict mode (as API Gateway sends them)', () => {
      const line = results.get('frame-type');
      expect(line).toMatchObject({ status: 'pass', data: { binaryBase64Frames: 0, binaryRawFrames: 0 } });
      expect(line?.data?.textFrames).toBeGreaterThanOrEqual(3);
    });

    it('client frames of 32,000 and of 32,768 characters are both accepted (strict mode reads 32 KB as 32 KiB)', () => {
      expect(results.get('frame-boundary')).toMatchObject({ status: 'pass', data: { chars32000: 'accepted', chars32768: 'accepted' } });
    });

    it('QoS 1 and QoS 2 round trips pass, delivered at the QoS sent', () => {
      expect(results.get('qos1')).toMatchObject({ status: 'pass', data: { deliveredQos: 1 } });
      expect(results.get('qos2')).toMatchObject({ status: 'pass', data: { deliveredQos: 2 } });
    });

    it('[MQTT-4.6.0-5] a burst of 200 QoS 1 publishes, one message each, arrives in order', () => {
      expect(results.get('ordering')).toMatchObject({ status: 'pass', data: { sent: 200, received: 200 } });
      // v5: at most the server's Receive Maximum (64 by default) in flight [MQTT-3.3.4-7].
      expect(results.get('ordering')?.data?.inflightWindow).toBe(version === 5 ? 64 : 200);
    });

    it('[MQTT-3.1.2-8] the will of a client whose socket is destroyed reaches the subscriber', () => {
      expect(results.get('will')).toMatchObject({ status: 'pass' });
    });

    it(`[MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5]) an anonymous client is refused as expected: CONNACK ${version === 5 ? '0x87' : '0x05'}, then the close`, () => {
      expect(results.get('anonymous')).toMatchObject({ status: 'pass', data: { anonymous: 'refused', expected: 'refused', connack: version === 5 ? 0x87 : 0x05 } });
    });

    it('no integration error frame was provoked: the line is skipped, not failed', () => {
      expect(results.get('integration-error')).toMatchObject({ status: 'skip', data: { count: 0 } });
    });
  });

  it('prints one human line per check and a summary without the password', async () => {
    const run = await smoke(['--url', broker.url, '--username', 'smoke', '--password', 'smoke-pw', '--only', 'subprotocol,anonymous']);
    expect(run.code).toBe(0);
    const out = run.stdout.trim().split('\n');
    expect(out).toHaveLength(4);
    expect(out[1]).toMatch(/^PASS {2}subprotocol handshake/);
    expect(out[2]).toMatch(/^PASS {2}anonymous client/);
    expect(out[3]).toBe('2 checks: 2 passed, 0 skipped, 0 failed');
    expect(run.stdout).not.toContain('smoke-pw');
  });

  it('a wrong password fails the lines that connect, with exit code 1', async () => {
    const run = await smoke(['--url', broker.url, '--username', 'smoke', '--password', 'wrong', '--only', 'subprotocol,qos1', '--json']);
    expect(run.code).toBe(1);
    const results = lines(run);
    expect(results.get('subprotocol')).toMatchObject({ status: 'fail', data: { protocol: 'mqtt', connack: 0x86 } });
    expect(results.get('qos1')?.status).toBe('fail');
  });
});

describe('against a stack that lets anonymous clients in', () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startTestBroker({ broker: { allowAnonymous: true } });
  });

  afterAll(async () => {
    await broker?.dispose();
  });

  it.each([4, 5] as const)('MQTT %i: "anonymous allowed" fails when refusal is expected (the default), and is skipped when --expect-anonymous allowed', async (version) => {
    const expected = lines(await smoke(['--url', broker.url, '--protocol', String(version), '--only', 'anonymous', '--json']));
    expect(expected.get('anonymous')).toMatchObject({ status: 'fail', data: { anonymous: 'allowed', expected: 'refused', connack: 0 } });
    const allowed = await smoke(['--url', broker.url, '--protocol', String(version), '--expect-anonymous', 'allowed', '--burst', '50', '--json']);
    const results = lines(allowed);
    expect(results.get('anonymous')).toMatchObject({ status: 'skip', data: { anonymous: 'allowed', expected: 'allowed' } });
    expect([...results.values()].filter((r) => r.status === 'fail')).toEqual([]);
    expect(allowed.code).toBe(0);
  }, 120_000);

  it('--stack: the URL and "anonymous allowed" come from the stack (its outputs and template), so the line is skipped', async () => {
    const asked: Array<[string, string | undefined]> = [];
    const readStack: ReadStack = async (stack, region) => {
      asked.push([stack, region]);
      return { url: broker.url, region: 'eu-west-1', allowAnonymous: true };
    };
    const run = await smoke(['--stack', 'Stratus', '--region', 'eu-west-1', '--only', 'anonymous', '--json'], {}, readStack);
    expect(asked).toEqual([['Stratus', 'eu-west-1']]);
    expect(lines(run).get('anonymous')).toMatchObject({ status: 'skip', detail: expect.stringContaining('stack Stratus'), data: { anonymous: 'allowed', expected: 'allowed' } });
    expect(run.code).toBe(0);
  });

  it('a stack that cannot be read stops the run with one line and exit code 1', async () => {
    const run = await smoke(['--stack', 'Missing', '--json']);
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'stratus: no stack in this test\n' });
  });
});

describe('with a token (the $connect authorizer), anonymous clients refused', () => {
  const ISSUER = 'https://login.smoke.example/';
  let broker: TestBroker;
  let jwks: Server;
  let good: string;
  let forged: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    broker = await startTestBroker({ broker: { allowAnonymous: false }, jwt: { issuer: ISSUER, audience: 'stratus', jwksUrl } });
    const sign = (key: CryptoKey) =>
      new SignJWT({ 'stratus:acl': { publish: ['stratus-smoke/#'], subscribe: ['stratus-smoke/#'] } })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setSubject('smoke-device')
        .setIssuer(ISSUER)
        .setAudience('stratus')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    good = await sign(pair.privateKey);
    forged = await sign((await generateKeyPair('ES256')).privateKey);
  });

  afterAll(async () => {
    await broker?.dispose();
    await new Promise<void>((resolve) => jwks?.close(() => resolve()));
  });

  it.each([4, 5] as const)('MQTT %i: --token goes in the query string, is never printed, and the anonymous client goes without it', async (version) => {
    const run = await smoke(['--url', broker.url, '--token', good, '--protocol', String(version), '--only', 'subprotocol,qos1,will,anonymous']);
    expect(run.stdout).not.toContain(good);
    expect(run.stdout).toContain('?token=***');
    expect(run.stdout).toMatch(/^PASS {2}subprotocol/m);
    expect(run.stdout).toMatch(/^PASS {2}QoS 1 round trip/m);
    expect(run.stdout).toMatch(/^PASS {2}will on an abrupt close/m);
    expect(run.stdout).toMatch(new RegExp(`^PASS {2}anonymous client +refused as expected: CONNACK ${version === 5 ? '0x87' : '0x05'}`, 'm'));
    expect(run.code).toBe(0);
  }, 60_000);

  it('a token the authorizer denies fails the handshake line with HTTP 403 (from the environment, STRATUS_SMOKE_TOKEN)', async () => {
    const run = await smoke(['--url', broker.url, '--only', 'subprotocol', '--json'], { STRATUS_SMOKE_TOKEN: forged });
    expect(lines(run).get('subprotocol')).toMatchObject({ status: 'fail', data: { httpStatus: 403 } });
    expect(run.stdout).not.toContain(forged);
    expect(run.code).toBe(1);
  });
});

describe('bad arguments', () => {
  it.each([
    [['--url', 'http://example.com/mqtt'], '--url'],
    [['--url', 'ws://example.com/mqtt'], '--url'],
    [['--url', 'wss://example.com/mqtt', '--protocol', '3'], '--protocol'],
    [['--url', 'wss://example.com/mqtt', '--burst', '0'], '--burst'],
    [['--url', 'wss://example.com/mqtt', '--timeout', 'soon'], '--timeout'],
    [['--url', 'wss://example.com/mqtt', '--password', 'pw'], '--password'],
    [['--url', 'wss://example.com/mqtt', '--prefix', 'a/#'], '--prefix'],
    [['--url', 'wss://example.com/mqtt', '--expect-anonymous', 'maybe'], '--expect-anonymous'],
    [['--url', 'wss://example.com/mqtt', '--only', 'qos3'], '--only'],
    [['--url', 'wss://example.com/mqtt', '--region', 'eu-west-1'], '--region'],
    [['--token', 'abc'], '--url'],
  ])('%j prints one line naming %s, and exits 2', async (argv, option) => {
    const run = await smoke(argv);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^stratus: invalid ${option}: [^\\n]+\\n$`));
  });

  it('an unknown option prints one line and exits 2', async () => {
    const run = await smoke(['--url', 'wss://example.com/mqtt', '--colour']);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toMatch(/^stratus: [^\n]*--colour[^\n]*\n$/);
  });

  it('through `npm run smoke:aws` (bin/stratus.js smoke): one line on stderr, exit code 2', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['smoke:aws']).toBe('node bin/stratus.js smoke');
    const out = spawnSync(process.execPath, ['bin/stratus.js', 'smoke', '--url', 'wss://example.com/mqtt', '--protocol', '7'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(out.status).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^stratus: invalid --protocol: [^\n]+\n$/);
  }, 60_000);
});

describe('bounded checks', () => {
  it('a broker that cannot be reached fails every connecting line quickly, and the run ends with exit code 1', async () => {
    const run = await smoke(['--url', 'ws://127.0.0.1:9/mqtt', '--json', '--timeout', '20']);
    expect(run.code).toBe(1);
    const results = lines(run);
    for (const id of ['subprotocol', 'frame-type', 'frame-boundary', 'qos1', 'qos2', 'ordering', 'will', 'anonymous']) {
      expect(results.get(id)?.status, id).toBe('fail');
      expect(results.get(id)?.data?.timedOut, id).toBeUndefined();
    }
    expect(results.get('integration-error')?.status).toBe('skip');
  });

  it('a check that never ends fails with a timeout naming its step, and its resources are closed', async () => {
    let closed = false;
    const stuck: SmokeCheck = {
      id: 'stuck',
      title: 'stuck',
      run: async (_ctx, scope: CheckScope) => {
        scope.own({ close: () => (closed = true) });
        scope.step('something that never comes');
        return new Promise(() => undefined);
      },
    };
    const ctx = { timeoutMs: 200, integrationErrors: [] } as unknown as SmokeContext;
    const [result] = await runChecks(ctx, [stuck], () => undefined);
    expect(result).toMatchObject({ check: 'stuck', status: 'fail', data: { timedOut: true, step: 'something that never comes' } });
    expect(closed).toBe(true);
  });
});
