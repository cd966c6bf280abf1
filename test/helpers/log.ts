/**
 * The logger of the brokers that integration tests start: errors only, on stderr, so a failure in
 * CI (a handler that failed, a post that did not go out) is explained in the run's output instead
 * of showing up later as a client's timeout. Expected bad input is logged below error level.
 */
import { createLogger, type Logger } from '../../lib/log';

export const testLogger: Logger = createLogger({
  level: 'error',
  write: (line) => process.stderr.write(`[broker] ${line}\n`),
});
