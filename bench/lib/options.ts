/**
 * The command line of a bench script, parsed with `node:util` parseArgs, strictly: an unknown
 * option or a missing value prints the usage and exits with 2. Every script takes `--help` (`-h`).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseBenchArgs<const O extends Options>(usage: string, options: O) {
  const config = {
    args: process.argv.slice(2),
    options: { ...options, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
    allowPositionals: false,
  } as const;
  let values;
  try {
    ({ values } = parseArgs(config));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

/** A whole number from `min` up, or the usage and exit 2. */
export function integerOption(usage: string, name: string, text: string, min: number): number {
  const value = Number(text);
  if (Number.isInteger(value) && value >= min) return value;
  console.error(`--${name} must be a whole number from ${min}, got ${JSON.stringify(text)}\n\n${usage}`);
  process.exit(2);
}
