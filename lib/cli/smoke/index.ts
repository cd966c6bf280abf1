/**
 * `stratus smoke` (`npm run smoke:aws -- --url wss://… [--token …]`): a checklist a user runs
 * against their own deployment. One line per check, pass, fail or skip; exit code 0 when nothing
 * failed, 1 when a check failed, 2 for bad input. Every topic is under `<--prefix>/<run id>/`,
 * nothing is retained, every session is clean (v5: Session Expiry 0), and every check has a
 * timeout and closes what it opened.
 *
 *   registerSmokeCommand(program)   adds the command to the CLI (lib/cli/main.ts)
 *   runSmoke(argv, deps)            runs it in-process with injected output (tests)
 */
import { randomBytes } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { describeFailure, oneLine } from '../admin/errors';
import { CheckScope, outcomeOfError, SmokeTimeoutError, type CheckOutcome, type CheckResult, type SmokeCheck, type SmokeContext } from './check';
import { anonymousCheck, frameBoundaryCheck, frameTypeCheck, integrationErrorCheck, subprotocolCheck } from './frame-checks';
import { BURST_MS_PER_PUBLISH, orderingCheck, qos1Check, qos2Check, willCheck } from './mqtt-checks';
import { CHECK_IDS, displayUrl, parseSmokeOptions, SMOKE_DEFAULTS, SMOKE_ENV, SmokeInputError, urlWithoutToken, urlWithToken, type CheckId, type SmokeOptions } from './options';
import { readStack, type ReadStack } from './stack';

export { allowAnonymousOf } from './stack';
export type { CheckResult } from './check';

/** In the order they run; the integration-error line reports what the others saw, so it is last. */
export const SMOKE_CHECKS: readonly SmokeCheck[] = [
  subprotocolCheck,
  frameTypeCheck,
  frameBoundaryCheck,
  qos1Check,
  qos2Check,
  orderingCheck,
  willCheck,
  anonymousCheck,
  integrationErrorCheck,
];

export interface SmokeDeps {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readStack: ReadStack;
}

const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;

function defaults(deps: Partial<SmokeDeps>): SmokeDeps {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, readStack, ...deps };
}

export function registerSmokeCommand(program: Command, deps: Partial<SmokeDeps> = {}): void {
  const all = defaults(deps);
  program
    .command('smoke')
    .description('check a deployment: handshake, frames, QoS 1 and 2, ordering, will, anonymous refusal (one line per check)')
    .option('--url <url>', 'the WebSocket URL, wss://… (the stack\'s WebSocketUrl output)')
    .option('--stack <name>', 'read the URL, and whether anonymous clients are allowed, from this stack (AWS credentials)')
    .option('--region <region>', 'the stack\'s region (default: the AWS configuration\'s)')
    .option('--token <jwt>', `a token for the $connect authorizer, sent as ?token= (or ${SMOKE_ENV.token})`)
    .option('--username <name>', 'the CONNECT user name')
    .option('--password <password>', `the CONNECT password (or ${SMOKE_ENV.password})`)
    .option('--protocol <version>', `MQTT 4 (3.1.1) or 5 (default ${SMOKE_DEFAULTS.protocol})`)
    .option('--expect-anonymous <refused|allowed>', 'what the stack does with anonymous clients (default: from --stack, else refused)')
    .option('--prefix <topic>', `topics go under <prefix>/<run id>/ (default ${SMOKE_DEFAULTS.prefix})`)
    .option('--burst <n>', `publishes in the ordering burst (default ${SMOKE_DEFAULTS.burst})`)
    .option('--timeout <seconds>', `the longest any one check may take; the burst gets ${BURST_MS_PER_PUBLISH / 1000} s more per publish (default ${SMOKE_DEFAULTS.timeoutSeconds})`)
    .option('--only <ids>', `run only these checks, separated by commas: ${CHECK_IDS.join(', ')}`)
    .option('--json', 'one JSON line per check')
    .action(async (raw: Record<string, unknown>) => {
      const code = await smoke(raw, all);
      if (code !== 0) throw new CommanderError(code, code === EXIT_BAD_INPUT ? 'stratus.smoke.input' : 'stratus.smoke.failed', '');
    });
}

/** Runs `stratus smoke` with `argv` (its options only) and resolves to the exit code. */
export async function runSmoke(argv: readonly string[], deps: Partial<SmokeDeps> = {}): Promise<number> {
  const all = defaults(deps);
  const program = new Command('stratus').exitOverride().showHelpAfterError(false);
  program.configureOutput({
    writeOut: (text) => void all.stdout.write(text),
    writeErr: (text) => void all.stderr.write(text),
    outputError: (text, write) => write(`stratus: ${oneLine(text.replace(/^error: /, ''))}\n`),
  });
  registerSmokeCommand(program, all);
  try {
    await program.parseAsync(['smoke', ...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.code.startsWith('commander.') && error.exitCode === 1 ? EXIT_BAD_INPUT : error.exitCode;
    all.stderr.write(`stratus: ${describeFailure(error).line}\n`);
    return EXIT_FAILED;
  }
}

/** Validates, builds the context, runs every check, prints; answers the exit code. */
async function smoke(raw: Record<string, unknown>, deps: SmokeDeps): Promise<number> {
  let options: SmokeOptions;
  try {
    options = parseSmokeOptions(raw, deps.env);
  } catch (error) {
    if (!(error instanceof SmokeInputError)) throw error;
    deps.stderr.write(`stratus: ${oneLine(error.message)}\n`);
    return EXIT_BAD_INPUT;
  }
  const ctx = await contextFor(options, deps);
  if (!options.json) {
    deps.stdout.write(`stratus smoke: ${displayUrl(ctx.url)}, MQTT ${ctx.protocolVersion === 5 ? '5' : '3.1.1'}, topics under ${ctx.topicPrefix}/\n`);
  }
  const checks = options.only === undefined ? SMOKE_CHECKS : SMOKE_CHECKS.filter((check) => options.only!.includes(check.id as CheckId));
  const results = await runChecks(ctx, checks, (result) => deps.stdout.write(options.json ? `${JSON.stringify(result)}\n` : humanLine(result)));
  const failed = results.filter((r) => r.status === 'fail').length;
  if (!options.json) {
    const passed = results.filter((r) => r.status === 'pass').length;
    deps.stdout.write(`${results.length} ${results.length === 1 ? 'check' : 'checks'}: ${passed} passed, ${results.length - passed - failed} skipped, ${failed} failed\n`);
  }
  return failed === 0 ? 0 : EXIT_FAILED;
}

async function contextFor(options: SmokeOptions, deps: SmokeDeps): Promise<SmokeContext> {
  const stack = options.stack === undefined ? undefined : await deps.readStack(options.stack, options.region);
  const url = urlWithToken(options.url ?? stack!.url, options.token);
  const runId = randomBytes(4).toString('hex');
  return {
    url,
    anonymousUrl: urlWithoutToken(url),
    protocolVersion: options.protocol,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    topicPrefix: `${options.prefix}/${runId}`,
    clientIdPrefix: `smoke-${runId}`,
    burst: options.burst,
    timeoutMs: options.timeout * 1000,
    expectAnonymous:
      options.expectAnonymous !== undefined
        ? { value: options.expectAnonymous, source: '--expect-anonymous' }
        : stack?.allowAnonymous !== undefined
          ? { value: stack.allowAnonymous ? 'allowed' : 'refused', source: `stack ${options.stack} sets allowAnonymous ${stack.allowAnonymous}` }
          : { value: 'refused', source: `the MqttBroker default${stack?.anonymousUnknownBecause ? `, as ${stack.anonymousUnknownBecause}` : ''}; pass --expect-anonymous allowed for an open stack` },
    integrationErrors: [],
  };
}

/** Runs the checks one after the other, each bounded by the timeout; reports each as it ends. */
export async function runChecks(ctx: SmokeContext, checks: readonly SmokeCheck[], report: (result: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const scope = new CheckScope(check.id);
    const started = performance.now();
    const timeoutMs = check.timeoutMs?.(ctx) ?? ctx.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<CheckOutcome>((resolve) => {
      timer = setTimeout(() => resolve(outcomeOfError(new SmokeTimeoutError(scope.currentStep, timeoutMs))), timeoutMs);
    });
    const outcome = await Promise.race([check.run(ctx, scope).catch(outcomeOfError), timedOut]);
    clearTimeout(timer);
    scope.end();
    const result: CheckResult = { check: check.id, title: check.title, ...outcome, ms: Math.round(performance.now() - started) };
    results.push(result);
    report(result);
  }
  return results;
}

function humanLine(result: CheckResult): string {
  const label = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }[result.status];
  return `${label}  ${result.title.padEnd(36)} ${result.detail} (${result.ms} ms)\n`;
}
