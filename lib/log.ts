/**
 * Structured JSON logs, one object per line. Secrets never reach a log: any field whose name
 * looks like a credential is replaced before the line is written.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /pass(word)?|secret|token|authorization|authenticationData|credential|cookie/i;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stdout (Lambda sends it to CloudWatch Logs). */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold) return;
    write(JSON.stringify({ level, time: new Date().toISOString(), msg, ...redact(base), ...redact(fields) }, jsonSafe));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything, without building a line first: for tests and benchmarks. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

export function redact(fields: LogFields | undefined): LogFields {
  if (!fields) return {};
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_FIELD.test(key) ? '[redacted]' : value;
  }
  return out;
}

/** Errors become { name, message, reasonCode, code, cause }; bytes become their length. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const { reasonCode, code } = value as { reasonCode?: unknown; code?: unknown };
    return {
      name: value.name,
      message: value.message,
      ...(reasonCode !== undefined ? { reasonCode } : {}),
      ...(typeof code === 'string' ? { code } : {}),
      // What a wrapped error hides (a reset socket behind a DeliveryError, say); one level deep.
      ...(value.cause instanceof Error ? { cause: { name: value.cause.name, message: value.cause.message } } : {}),
    };
  }
  if (value instanceof Uint8Array) return { bytes: value.byteLength };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
