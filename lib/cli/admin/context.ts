/**
 * The plumbing shared by the admin commands: their dependencies (streams, environment, clock,
 * stores), the commander settings that make every error one `stratus: ` line with exit code 2,
 * the common target options, and the action wrapper that prints a Report or the failure.
 *
 * A failed action prints its line itself and throws a CommanderError carrying the exit code, so
 * that whoever runs the program (lib/cli/main.ts, runAdmin) returns that code and prints nothing
 * more.
 */
import { randomBytes } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { describeFailure, EXIT_BAD_INPUT, oneLine } from './errors';
import { processIo, type AdminIo } from './io';
import { render, type Report } from './output';
import type { AdminStores, OpenStores } from './stores';
import { resolveTarget, type DescribeStack, type Target, type TargetRequest } from './target';

export interface AdminDeps {
  readonly io: AdminIo;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where `.stratus/local.json` is looked for */
  readonly cwd: string;
  /** Epoch ms: creation times, the arrival time of a retained delete, ages */
  readonly now: () => number;
  /** A new ACL rule id */
  readonly newRuleId: () => string;
  readonly openStores: OpenStores;
  readonly describeStack: DescribeStack;
  /** Whether the pid recorded in `.stratus/local.json` is alive */
  readonly isAlive?: (pid: number) => boolean;
}

export function defaultDeps(overrides: Partial<AdminDeps> = {}): AdminDeps {
  return {
    io: processIo(),
    env: process.env,
    cwd: process.cwd(),
    now: Date.now,
    newRuleId: () => randomBytes(4).toString('hex'),
    // loaded on first use: `stratus dev` need not load the CloudFormation client
    openStores: async (target) => (await import('./stores')).openAdminStores(target),
    describeStack: async (stack, region) => (await import('./stack-outputs')).describeStackOutputs(stack, region),
    ...overrides,
  };
}

/** What an action gets: its dependencies, and the stores of its target once it asks for them. */
export interface ActionContext {
  readonly deps: AdminDeps;
  /** Resolves the target from the (validated) options and opens its stores; once per action. */
  open(options: TargetRequest): Promise<AdminStores>;
}

/** Opens the stores of the target the options name. */
export type Open = ActionContext['open'];

export interface ActionInput {
  /** The positional arguments, in order */
  readonly args: readonly unknown[];
  /** commander's options, camelCase keys */
  readonly options: Record<string, unknown>;
}

export type ActionHandler = (input: ActionInput, context: ActionContext) => Promise<Report>;

/**
 * A command group (`user`, `acl`...) whose commands print errors as one `stratus: ` line and exit
 * with code 2 on bad input. Its subcommands inherit these settings when created with `.command()`.
 */
export function commandGroup(parent: Command, deps: AdminDeps, name: string, description: string): Command {
  const group = parent.command(name).description(description);
  configureCommand(group, deps);
  return group;
}

/**
 * Run without a subcommand or with an unknown one, the group fails with one line. Call after the
 * subcommands are added (excess arguments are allowed on the group only).
 */
export function finishGroup(group: Command, deps: AdminDeps): void {
  const names = group.commands.map((c) => c.name()).join('|');
  group.allowExcessArguments(true).action(async (_options: unknown, self: Command) => {
    const [first] = self.args;
    const line =
      first === undefined
        ? `missing command: stratus ${group.name()} ${names} (see stratus ${group.name()} --help)`
        : `unknown command '${first}': stratus ${group.name()} ${names}`;
    deps.io.stderr.write(`stratus: ${line}\n`);
    throw new CommanderError(EXIT_BAD_INPUT, 'stratus.badInput', line);
  });
}

function configureCommand(command: Command, deps: AdminDeps): void {
  command
    .configureOutput({
      writeOut: (text) => void deps.io.stdout.write(text),
      writeErr: (text) => void deps.io.stderr.write(text),
      outputError: (text, write) => write(`stratus: ${oneLine(text.replace(/^error: /, ''))}\n`),
    })
    .showHelpAfterError(false)
    .exitOverride((error) => {
      // --help and --version exit 0; every other commander error is bad input
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') throw error;
      throw new CommanderError(EXIT_BAD_INPUT, error.code, error.message);
    });
}

/** The options that choose the target, and --json; every leaf command has them. */
export function withTargetOptions(command: Command): Command {
  return command
    .option('--json', 'print machine-readable JSON')
    .option('--stack <name>', 'a deployed stack: read its table names from its outputs (AWS credential chain)')
    .option('--region <region>', 'the region of --stack (default: the AWS default region)')
    .option(
      '--dynamodb-endpoint <url>',
      'local mode: the DynamoDB endpoint (default: DYNAMODB_ENDPOINT, else the running `stratus dev`)',
    )
    .option('--table-prefix <prefix>', 'local mode: the table name prefix (default: stratus-local-)');
}

/** The commander action for a handler: validates, runs, prints the Report or the failure line. */
export function action(deps: AdminDeps, handler: ActionHandler): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    const options = self.opts<Record<string, unknown>>();
    let stores: AdminStores | undefined;
    let target: Target | undefined;
    const context: ActionContext = {
      deps,
      open: async (request) => {
        if (stores !== undefined) return stores;
        target = await resolveTarget(request, {
          env: deps.env,
          cwd: deps.cwd,
          describeStack: deps.describeStack,
          isAlive: deps.isAlive,
        });
        stores = await deps.openStores(target);
        return stores;
      },
    };
    try {
      const report = await handler({ args: self.processedArgs, options }, context);
      deps.io.stdout.write(render(report, options.json === true));
    } catch (error) {
      const endpoint = target?.kind === 'local' ? target.dynamodb.endpoint : undefined;
      const failure = describeFailure(error, endpoint);
      deps.io.stderr.write(`stratus: ${failure.line}\n`);
      throw new CommanderError(failure.exitCode, 'stratus.failed', failure.line);
    } finally {
      await stores?.close();
    }
  };
}
