/**
 * bin/app.ts as the CDK CLI runs it (a child process with CDK_OUTDIR and CDK_CONTEXT_JSON): a bad
 * context value fails with one line naming the key; good context synthesizes with no AWS
 * credentials (bundling skipped here: stack.test.ts covers it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../lib/infra/functions';
import { expectEntryPoints } from './synth';

const outdirs: string[] = [];

function runApp(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'stratus-app-'));
  outdirs.push(outdir);
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) };
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete env[key];
  const result = spawnSync(join(PACKAGE_ROOT, 'node_modules/.bin/tsx'), [join(PACKAGE_ROOT, 'bin/app.ts')], {
    cwd: PACKAGE_ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { ...result, outdir };
}

beforeEach(() => {
  expect.hasAssertions();
});
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('bin/app.ts', () => {
  it('fails with one line naming the key on a bad context value', () => {
    const result = runApp({ 'stratus:maxPacketSize': '200000' });
    expect(result.status).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^stratus: invalid context stratus:maxPacketSize: /);
  });

  it('synthesizes offline from context, with cdk-nag, into the given outdir', () => {
    expectEntryPoints();
    const result = runApp({ 'aws:cdk:bundling-stacks': [], 'stratus:stackName': 'StratusTest', 'stratus:allowAnonymous': 'true' });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    const templateFile = join(result.outdir, 'StratusTest.template.json');
    expect(existsSync(templateFile)).toBe(true);
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Properties: any }> };
    const fns = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns.every((f) => f.Properties.Environment.Variables.STRATUS_ALLOW_ANONYMOUS === 'true')).toBe(true);
    // cdk.json's default ingress: ordered, through the FIFO queue and its dead-letter queue.
    const queues = Object.values(template.Resources).filter((r) => r.Type === 'AWS::SQS::Queue');
    expect(queues.map((q) => q.Properties.FifoQueue)).toEqual([true, true]);
  });
});
