/**
 * Target resolution of the admin commands: local mode from the options, DYNAMODB_ENDPOINT or
 * `.stratus/local.json`; a deployed stack from its outputs.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearLocalState, readLocalState, writeLocalState } from '../../../lib/cli/admin/local-state';
import { parseStackOutputs, resolveTarget, tableOutputKey, type TargetEnvironment } from '../../../lib/cli/admin/target';
import { pascalCase } from '../../../lib/infra/tables';
import { TABLE_IDS } from '../../../lib/store/schema';
import { harness } from './admin-harness';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'stratus-target-'));
}

function environment(overrides: Partial<TargetEnvironment> = {}): TargetEnvironment {
  return {
    env: {},
    cwd: tmp(),
    describeStack: async () => {
      throw new Error('unexpected');
    },
    isAlive: () => true,
    ...overrides,
  };
}

const OUTPUTS: Record<string, string> = {
  ...Object.fromEntries(TABLE_IDS.map((id) => [tableOutputKey(id), `prod-${id}-ABC123`])),
  ManagementEndpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/',
  WebSocketUrl: 'wss://abc.execute-api.eu-west-1.amazonaws.com/prod',
};

describe('local state file', () => {
  it('round-trips, with the pid of the writer', async () => {
    const dir = tmp();
    await writeLocalState({ dynamodbEndpoint: 'http://127.0.0.1:8000', managementEndpoint: 'http://127.0.0.1:8083/mqtt' }, dir);
    expect(await readLocalState(dir)).toEqual({
      dynamodbEndpoint: 'http://127.0.0.1:8000',
      tablePrefix: 'stratus-local-',
      managementEndpoint: 'http://127.0.0.1:8083/mqtt',
      pid: process.pid,
    });
    await clearLocalState(dir);
    expect(await readLocalState(dir)).toBeUndefined();
  });

  it('is ignored when its writer is gone, and left alone by another process', async () => {
    const dir = tmp();
    await writeLocalState({ dynamodbEndpoint: 'http://127.0.0.1:8000', pid: 4242 }, dir);
    expect(await readLocalState(dir, () => false)).toBeUndefined();
    await clearLocalState(dir, 1);
    expect(await readLocalState(dir, () => true)).toMatchObject({ pid: 4242 });
  });

  it('an invalid file is one line naming the file and the field', async () => {
    const dir = tmp();
    mkdirSync(join(dir, '.stratus'));
    writeFileSync(join(dir, '.stratus', 'local.json'), JSON.stringify({ dynamodbEndpoint: 'ftp://x' }));
    await expect(readLocalState(dir)).rejects.toThrow(/local\.json: dynamodbEndpoint: an http\(s\) URL$/);
    writeFileSync(join(dir, '.stratus', 'local.json'), '{');
    await expect(readLocalState(dir)).rejects.toThrow(/local\.json: not JSON/);
  });
});

describe('resolveTarget, local mode', () => {
  it('uses the running `stratus dev` recorded in .stratus/local.json', async () => {
    const env = environment();
    await writeLocalState(
      { dynamodbEndpoint: 'http://127.0.0.1:8000', tablePrefix: 'dev-', managementEndpoint: 'http://127.0.0.1:8083/mqtt/' },
      env.cwd,
    );
    const target = await resolveTarget({ json: false }, env);
    expect(target).toMatchObject({
      kind: 'local',
      dynamodb: { endpoint: 'http://127.0.0.1:8000' },
      managementEndpoint: 'http://127.0.0.1:8083/mqtt',
    });
    expect(target.tables.auth).toBe('dev-auth');
  });

  it('options beat DYNAMODB_ENDPOINT, which beats the file; the file applies only to its own endpoint', async () => {
    const env = environment({ env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9000' } });
    await writeLocalState({ dynamodbEndpoint: 'http://127.0.0.1:8000', tablePrefix: 'dev-', managementEndpoint: 'http://127.0.0.1:8083/mqtt' }, env.cwd);
    const fromEnv = await resolveTarget({ json: false }, env);
    expect(fromEnv).toMatchObject({ dynamodb: { endpoint: 'http://127.0.0.1:9000' } });
    expect(fromEnv.tables.auth).toBe('stratus-local-auth');
    expect(fromEnv.managementEndpoint).toBeUndefined();
    const explicit = await resolveTarget({ json: false, dynamodbEndpoint: 'http://127.0.0.1:8000', tablePrefix: 'x-' }, env);
    expect(explicit).toMatchObject({ dynamodb: { endpoint: 'http://127.0.0.1:8000' }, managementEndpoint: 'http://127.0.0.1:8083/mqtt' });
    expect(explicit.tables.sessions).toBe('x-sessions');
  });

  it('nothing to go on: the no-local-broker line', async () => {
    await expect(resolveTarget({ json: false }, environment())).rejects.toThrow(
      'no local broker found: start it with npm start, or pass --dynamodb-endpoint',
    );
  });

  it('a DYNAMODB_ENDPOINT that is not a URL is bad input', async () => {
    const out = await harness({ env: { DYNAMODB_ENDPOINT: 'localhost:8000' } }).run(['user', 'list']);
    expect(out).toMatchObject({ code: 2, stderr: "stratus: invalid DYNAMODB_ENDPOINT: an http(s) URL, got 'localhost:8000'\n" });
  });
});

describe('resolveTarget, deployed stack', () => {
  it('the output keys are those of lib/infra/stratus-stack.ts', () => {
    for (const id of TABLE_IDS) expect(tableOutputKey(id)).toBe(`${pascalCase(id)}TableName`);
  });

  it('reads the table names and the @connections endpoint from the outputs, in the region it asked', async () => {
    const asked: Array<[string, string | undefined]> = [];
    const target = await resolveTarget(
      { json: false, stack: 'prod-mqtt', region: 'eu-west-1' },
      environment({
        describeStack: async (stack, region) => {
          asked.push([stack, region]);
          return { region: 'eu-west-1', outputs: OUTPUTS };
        },
      }),
    );
    expect(asked).toEqual([['prod-mqtt', 'eu-west-1']]);
    expect(target).toMatchObject({
      kind: 'stack',
      region: 'eu-west-1',
      dynamodb: { region: 'eu-west-1' },
      managementEndpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      tables: { auth: 'prod-auth-ABC123', retained: 'prod-retained-ABC123' },
    });
  });

  it('a missing or invalid output is one line naming it', () => {
    const { AuthTableName: _auth, ...older } = OUTPUTS;
    expect(() => parseStackOutputs('prod', older)).toThrow(/^stack prod has no output AuthTableName: /);
    expect(() => parseStackOutputs('prod', { ...OUTPUTS, ManagementEndpoint: 'nope' })).toThrow(
      /^stack prod: output ManagementEndpoint is not an http\(s\) URL$/,
    );
  });
});
