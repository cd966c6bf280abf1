/**
 * The `stratus` CLI. Every option is validated with zod; bad input gets one line on stderr that
 * names the problem, and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { registerBridgeCommand } from './bridge';
import { registerAdminCommands } from './admin/index';
import { registerDevCommand } from './dev';
import { registerSmokeCommand } from './smoke/index';

export class CliInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliInputError';
  }
}

export function buildProgram(): Command {
  const program = new Command('stratus')
    .description('Stratus: a serverless MQTT broker for AWS')
    .showHelpAfterError(false)
    .exitOverride();
  registerDevCommand(program);
  registerBridgeCommand(program);
  registerAdminCommands(program);
  registerSmokeCommand(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or help/version, which exit 0)
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`stratus: ${message}\n`);
    return 1;
  }
}
