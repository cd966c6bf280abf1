/**
 * The logger of the brokers that integration tests start: errors only, on stderr, so a failure in
 * CI (a handler that failed, a post that did not go out) is explained in the run's output instead
 * of showing up later as a client's timeout. Expected bad input is logged below error level.
 * STRATUS_TEST_LOG_LEVEL (debug, info, warn) lowers the threshold to diagnose a failing test.
 */
import { createLogger, type Logger, type LogLevel } from '../../lib/log';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const asked = process.env.STRATUS_TEST_LOG_LEVEL;

export const testLogger: Logger = createLogger({
  level: LEVELS.find((l) => l === asked) ?? 'error',
  write: (line) => process.stderr.write(`[broker] ${line}\n`),
});
