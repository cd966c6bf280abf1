/**
 * How an admin command fails. Every failure is one line on stderr that starts with `stratus: `,
 * and an exit code: 2 for bad input (options, arguments, a password that breaks the policy), 1 for
 * everything else (a user that exists, a broker that cannot be reached, AWS errors).
 */
import { PasswordPolicyError } from '../../auth/password';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** The input is wrong: exit 2. The message names the option or argument. */
export class AdminInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminInputError';
  }
}

/** The input is fine but the command cannot do what it asks: exit 1. */
export class AdminFailureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminFailureError';
  }
}

export interface FailureReport {
  readonly exitCode: number;
  /** One line, without the `stratus: ` prefix */
  readonly line: string;
}

/**
 * The exit code and the line for any error. `endpoint` names the DynamoDB endpoint of local mode,
 * so that a refused connection says which broker is not running.
 */
export function describeFailure(error: unknown, endpoint?: string): FailureReport {
  if (error instanceof AdminInputError) return { exitCode: EXIT_BAD_INPUT, line: oneLine(error.message) };
  if (error instanceof PasswordPolicyError) {
    return { exitCode: EXIT_BAD_INPUT, line: `invalid password: ${oneLine(error.message)}` };
  }
  if (endpoint !== undefined && isConnectionRefused(error)) {
    return {
      exitCode: EXIT_FAILURE,
      line: `cannot reach DynamoDB at ${endpoint}: is the local broker running? start it with npm start`,
    };
  }
  if (isMissingCredentials(error)) {
    return {
      exitCode: EXIT_FAILURE,
      line: `no AWS credentials: configure them (AWS_PROFILE, aws sso login, environment variables), then retry`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT_FAILURE, line: oneLine(message) || 'failed' };
}

/** Collapses whitespace and newlines, so that any message fits one line. */
export function oneLine(text: string): string {
  return withoutOptionValues(text.replace(/\s+/g, ' ').trim());
}

/**
 * commander quotes an unknown option as typed: `--password=hunter2` would print the password to
 * stderr (and a CI log). The value after `=` is dropped from quoted options.
 */
export function withoutOptionValues(text: string): string {
  return text.replace(/'(--?[A-Za-z0-9-]+)=[^']*'/g, "'$1=…'");
}

/** ECONNREFUSED anywhere in the error's cause chain (the SDK wraps the socket error). */
function isConnectionRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' || e.message.includes('ECONNREFUSED')) return true;
    const nested = (e as { errors?: unknown }).errors;
    if (Array.isArray(nested) && nested.some((inner) => isConnectionRefused(inner))) return true;
  }
  return false;
}

function isMissingCredentials(error: unknown): boolean {
  return error instanceof Error && error.name === 'CredentialsProviderError';
}
