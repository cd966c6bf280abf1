/**
 * Validation of what commander hands over (strings, booleans, string lists) with zod, turned into
 * typed values or an AdminInputError whose one line names the option (`--group`) or the argument
 * (`NAME`).
 */
import { z } from 'zod';
import { ANONYMOUS_GROUP } from '../../auth/types';
import { AdminInputError, oneLine } from './errors';
import { targetConflict, TargetOptionsSchema, type TargetOptions } from './target';

/**
 * A user or group name. A name can be substituted into a topic filter (`%u`), so it never holds
 * `/`, `+`, `#`, whitespace or control characters; `,` separates names in `--group a,b`.
 */
export const PrincipalNameSchema = z
  .string()
  .min(1, 'empty')
  .max(128, 'longer than 128 characters')
  // eslint-disable-next-line no-control-regex
  .refine((name) => !/[\s/+#,\u0000-\u001f\u007f]/u.test(name), 'no whitespace, /, +, # or , in a name');

/** `--group a,b --group c` as commander collects it: repeatable, comma-separated. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((part) => part.trim())];
}

/**
 * The options of a command, validated: the target options plus the command's own. Cross-option
 * rules of the target options are checked here too.
 */
export function parseOptions<S extends z.ZodRawShape>(
  shape: S,
  raw: Record<string, unknown>,
): TargetOptions & z.infer<z.ZodObject<S>> {
  const schema = TargetOptionsSchema.extend(shape);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new AdminInputError(describeIssue(parsed.error.issues[0], optionLabel, raw));
  const options = parsed.data as TargetOptions & z.infer<z.ZodObject<S>>;
  const conflict = targetConflict(options);
  if (conflict !== undefined) throw new AdminInputError(conflict);
  return options;
}

/** One positional argument, validated; errors name it by its label, e.g. `invalid NAME: empty`. */
export function parseArgument<T>(schema: z.ZodType<T>, value: unknown, label: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AdminInputError(describeIssue(parsed.error.issues[0], () => label, {}, label));
  return parsed.data;
}

/** A group name given as an option value or argument, which may not be the built-in group. */
export function assertNotBuiltIn(name: string, what: string): void {
  if (name === ANONYMOUS_GROUP) {
    throw new AdminInputError(`${what}: the group ${ANONYMOUS_GROUP} is built in (it holds the rules for anonymous clients)`);
  }
}

function describeIssue(
  issue: z.core.$ZodIssue,
  label: (key: string) => string,
  raw: Record<string, unknown>,
  fallback = 'options',
): string {
  const key = issue.path.length > 0 ? String(issue.path[0]) : undefined;
  const name = key === undefined ? fallback : label(key);
  // one value of a list option: quote it (`invalid --group: 'a b': ...`)
  const index = issue.path[1];
  const value = key !== undefined && typeof index === 'number' ? (raw[key] as unknown[] | undefined)?.[index] : undefined;
  const which = typeof value === 'string' ? ` '${value}'` : '';
  return `invalid ${name}:${which ? `${which}:` : ''} ${oneLine(issue.message)}`;
}

/** `dynamodbEndpoint` → `--dynamodb-endpoint`. */
export function optionLabel(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
