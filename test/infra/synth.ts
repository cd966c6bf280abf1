/**
 * Synthesizes a StratusStack into a temporary directory (never the repository's cdk.out), optionally
 * with esbuild bundling and the cdk-nag AwsSolutions plugin. Bundling is slow on small machines:
 * each test file synthesizes once, in beforeAll, and shares the result.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { expect } from 'vitest';
import { FUNCTION_IDS, FUNCTION_SPECS } from '../../lib/infra/access';
import { FUNCTIONS_DIR } from '../../lib/infra/functions';
import { StratusStack, type StratusStackProps } from '../../lib/infra/stratus-stack';

export interface Synthesized {
  readonly stack: StratusStack;
  readonly template: Template;
  readonly outdir: string;
  /** cdk-nag violations left after acknowledgements (empty when the pack passes) */
  readonly violations: readonly { ruleName: string; severity: string; paths: string[] }[];
  /** The error app.synth() threw, if any (validation failures throw) */
  readonly synthError?: unknown;
  cleanup(): void;
}

export interface SynthOptions {
  readonly bundling?: boolean;
  readonly nag?: boolean;
}

/** Entry files of functions/ that do not exist. */
export function missingEntries(): string[] {
  return FUNCTION_IDS.map((id) => FUNCTION_SPECS[id].entry).filter((entry) => !existsSync(join(FUNCTIONS_DIR, entry)));
}

/** Fails, naming the files, when an entry point in functions/ is missing: the stack cannot synthesize without it. */
export function expectEntryPoints(): void {
  expect(missingEntries(), 'entry points missing from functions/').toEqual([]);
}

interface ReportShape {
  pluginReports: { violations?: { ruleName: string; severity: string; violatingConstructs?: { constructPath: string }[] }[] }[];
}

function readViolations(outdir: string): Synthesized['violations'] {
  const file = join(outdir, 'validation-report.json');
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, 'utf8')) as ReportShape;
  return report.pluginReports.flatMap((p) =>
    (p.violations ?? []).map((v) => ({
      ruleName: v.ruleName,
      severity: v.severity,
      paths: (v.violatingConstructs ?? []).map((c) => c.constructPath),
    })),
  );
}

export function synthStratus(props: StratusStackProps = {}, options: SynthOptions = {}): Synthesized {
  expectEntryPoints();
  const outdir = mkdtempSync(join(tmpdir(), 'stratus-infra-'));
  const context = options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {};
  const app = new App({ outdir, context });
  const stack = new StratusStack(app, 'Stratus', props);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let synthError: unknown;
  try {
    app.synth();
  } catch (error) {
    synthError = error;
  }
  const violations = readViolations(outdir);
  const template = Template.fromStack(stack);
  return { stack, template, outdir, violations, synthError, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

/**
 * The alarms a broker has (lib/infra/alarms.ts): errors and throttles per function; delivery
 * errors and incomplete sweeps; the gateway's integration, execution and client errors; throttled
 * requests per table; the account's concurrency; with ordered ingress, dead letters and age.
 */
export function expectedAlarmCount(functions: number, ingress: 'ordered' | 'direct', tables: number): number {
  return functions * 2 + 2 + 3 + tables + 1 + (ingress === 'ordered' ? 2 : 0);
}
