/**
 * The admin commands of the `stratus` CLI: users, groups, ACL rules, sessions, retained
 * messages and the subscriptions table's maintenance, on local mode or on a deployed stack (./target.ts).
 *
 *   registerAdminCommands(program)        adds them to the CLI (lib/cli/main.ts)
 *   runAdmin(argv, deps)                   runs them in-process with injected streams and stores
 *
 * Exit codes: 0 ok, 1 failure, 2 bad input; every error is one line on stderr, `stratus: ...`.
 */
import { Command, CommanderError } from 'commander';
import { registerAclCommands } from './acl';
import { defaultDeps, type AdminDeps } from './context';
import { describeFailure, oneLine } from './errors';
import { registerGroupCommands } from './group';
import { registerRetainedCommands } from './retained';
import { registerSessionCommands } from './sessions';
import { registerSubscriptionCommands } from './subscriptions';
import { registerUserCommands } from './user';

export { defaultDeps, type AdminDeps } from './context';
export type { AdminIo } from './io';
export type { AdminStores } from './stores';
export { clearLocalState, readLocalState, writeLocalState, type LocalState } from './local-state';

export function registerAdminCommands(program: Command, deps: Partial<AdminDeps> = {}): void {
  const all = defaultDeps(deps);
  registerUserCommands(program, all);
  registerGroupCommands(program, all);
  registerAclCommands(program, all);
  registerSessionCommands(program, all);
  registerRetainedCommands(program, all);
  registerSubscriptionCommands(program, all);
}

/**
 * Runs one admin command line (without `node stratus`, e.g. `['user', 'list', '--json']`) and
 * resolves to its exit code.
 */
export async function runAdmin(argv: readonly string[], deps: Partial<AdminDeps> = {}): Promise<number> {
  const all = defaultDeps(deps);
  const program = new Command('stratus').exitOverride().showHelpAfterError(false);
  program.configureOutput({
    writeOut: (text) => void all.io.stdout.write(text),
    writeErr: (text) => void all.io.stderr.write(text),
    outputError: (text, write) => write(`stratus: ${oneLine(text.replace(/^error: /, ''))}\n`),
  });
  registerAdminCommands(program, all);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 1 && error.code.startsWith('commander.') ? 2 : error.exitCode;
    const failure = describeFailure(error);
    all.io.stderr.write(`stratus: ${failure.line}\n`);
    return failure.exitCode;
  }
}
