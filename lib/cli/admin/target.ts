/**
 * Which broker an admin command works on.
 *
 * - A deployed stack (`--stack NAME [--region R]`): the table names and the `@connections`
 *   endpoint come from the stack's outputs (CloudFormation DescribeStacks), with the default AWS
 *   credential chain. The outputs are those of lib/infra/stratus-stack.ts:
 *   `{PascalCase(tableId)}TableName` and `ManagementEndpoint`.
 * - Local mode (no `--stack`): the DynamoDB endpoint is `--dynamodb-endpoint`, else the
 *   environment's DYNAMODB_ENDPOINT, else the one a running `stratus dev` recorded in
 *   `.stratus/local.json`; the tables are named `{prefix}{tableId}` (`--table-prefix`, default
 *   `stratus-local-`).
 */
import { z } from 'zod';
import type { DynamoDbClientOptions } from '../../store/dynamodb/client';
import { TABLE_IDS, tableNamesForPrefix, type TableId } from '../../store/schema';
import { AdminFailureError, AdminInputError } from './errors';
import { DEFAULT_TABLE_PREFIX, TablePrefixSchema, readLocalState, type LocalState } from './local-state';

export const DYNAMODB_ENDPOINT_ENV = 'DYNAMODB_ENDPOINT';

export const NO_LOCAL_BROKER = 'no local broker found: start it with npm start, or pass --dynamodb-endpoint';

const HttpUrlSchema = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

/** The options every admin command takes to choose its target (commander's camelCase keys). */
export const TargetOptionsSchema = z.object({
  stack: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name (letters, digits and -)')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'an AWS region such as eu-west-1')
    .optional(),
  dynamodbEndpoint: HttpUrlSchema.optional(),
  tablePrefix: TablePrefixSchema.optional(),
  json: z.boolean().default(false),
});

export type TargetOptions = z.infer<typeof TargetOptionsSchema>;

/** Cross-option rules of the target options, as one line naming the options; undefined if fine. */
export function targetConflict(options: TargetOptions): string | undefined {
  if (options.stack !== undefined) {
    if (options.dynamodbEndpoint !== undefined) return '--stack and --dynamodb-endpoint exclude each other';
    if (options.tablePrefix !== undefined) return '--stack and --table-prefix exclude each other';
  } else if (options.region !== undefined) {
    return '--region needs --stack (local mode has no region)';
  }
  return undefined;
}

export interface Target {
  readonly kind: 'local' | 'stack';
  /** e.g. `stack prod-mqtt (eu-west-1)` or `local mode (http://127.0.0.1:8000, tables stratus-local-*)` */
  readonly label: string;
  /** How to build the DynamoDB client: an endpoint (local) or a region (stack) */
  readonly dynamodb: DynamoDbClientOptions;
  readonly tables: Readonly<Record<TableId, string>>;
  /** The `@connections` endpoint, if known (local mode without `.stratus/local.json` has none) */
  readonly managementEndpoint?: string;
  /** The region of a stack (the one its outputs were read in) */
  readonly region?: string;
}

/** The outputs of a deployed stack by key, and the region they were read in. */
export interface StackOutputs {
  readonly region: string;
  readonly outputs: Readonly<Record<string, string>>;
}

export type DescribeStack = (stack: string, region: string | undefined) => Promise<StackOutputs>;

export interface TargetEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where `.stratus/local.json` is looked for */
  readonly cwd: string;
  readonly describeStack: DescribeStack;
  /** Whether the pid recorded in `.stratus/local.json` is alive (tests replace it) */
  readonly isAlive?: (pid: number) => boolean;
}

export interface TargetRequest extends TargetOptions {
  /** `sessions kick --management-endpoint`: overrides the recorded one (local mode) */
  readonly managementEndpoint?: string;
}

export async function resolveTarget(options: TargetRequest, environment: TargetEnvironment): Promise<Target> {
  const conflict = targetConflict(options);
  if (conflict !== undefined) throw new AdminInputError(conflict);
  if (options.stack !== undefined) return stackTarget(options.stack, options.region, environment.describeStack);
  return localTarget(options, environment);
}

async function localTarget(options: TargetRequest, environment: TargetEnvironment): Promise<Target> {
  const fromEnv = environmentEndpoint(environment.env);
  const explicit = options.dynamodbEndpoint ?? fromEnv;
  const state = await readLocalState(environment.cwd, environment.isAlive);
  // What `stratus dev` recorded applies only to the endpoint it recorded.
  const recorded: LocalState | undefined =
    state !== undefined && (explicit === undefined || sameUrl(explicit, state.dynamodbEndpoint)) ? state : undefined;
  const endpoint = explicit ?? recorded?.dynamodbEndpoint;
  if (endpoint === undefined) throw new AdminFailureError(NO_LOCAL_BROKER);
  const prefix = options.tablePrefix ?? recorded?.tablePrefix ?? DEFAULT_TABLE_PREFIX;
  const management = options.managementEndpoint ?? recorded?.managementEndpoint;
  return {
    kind: 'local',
    label: `local mode (${endpoint}, tables ${prefix}*)`,
    dynamodb: { endpoint },
    tables: tableNamesForPrefix(prefix),
    ...(management !== undefined && { managementEndpoint: trimSlashes(management) }),
  };
}

function environmentEndpoint(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const value = env[DYNAMODB_ENDPOINT_ENV]?.trim();
  if (!value) return undefined;
  const parsed = HttpUrlSchema.safeParse(value);
  if (!parsed.success) throw new AdminInputError(`invalid ${DYNAMODB_ENDPOINT_ENV}: an http(s) URL, got '${value}'`);
  return parsed.data;
}

async function stackTarget(stack: string, region: string | undefined, describe: DescribeStack): Promise<Target> {
  const found = await describe(stack, region);
  const { tables, managementEndpoint } = parseStackOutputs(stack, found.outputs);
  return {
    kind: 'stack',
    label: `stack ${stack} (${found.region})`,
    dynamodb: { region: found.region },
    tables,
    managementEndpoint,
    region: found.region,
  };
}

/** The output that carries a table's name, as lib/infra/stratus-stack.ts names it: `AuthTableName`. */
export function tableOutputKey(id: TableId): string {
  return `${id.charAt(0).toUpperCase()}${id.slice(1)}TableName`;
}

export const MANAGEMENT_ENDPOINT_OUTPUT = 'ManagementEndpoint';

const TableNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name');

/** The outputs the admin commands need; other outputs are ignored. */
export const StackOutputsSchema = z.object({
  ...Object.fromEntries(TABLE_IDS.map((id) => [tableOutputKey(id), TableNameSchema])),
  [MANAGEMENT_ENDPOINT_OUTPUT]: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
}) as unknown as z.ZodType<Record<string, string>>;

/**
 * The table names and the `@connections` endpoint from a stack's outputs.
 * @throws AdminFailureError naming the first output that is missing or not valid
 */
export function parseStackOutputs(
  stack: string,
  outputs: Readonly<Record<string, string>>,
): { tables: Record<TableId, string>; managementEndpoint: string } {
  const parsed = StackOutputsSchema.safeParse(outputs);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? 'outputs');
    const missing = outputs[key] === undefined;
    throw new AdminFailureError(
      missing
        ? `stack ${stack} has no output ${key}: is it a Stratus stack of this version? (cdk deploy updates it)`
        : `stack ${stack}: output ${key} is not ${issue.message}`,
    );
  }
  const tables = {} as Record<TableId, string>;
  for (const id of TABLE_IDS) tables[id] = parsed.data[tableOutputKey(id)] as string;
  return { tables, managementEndpoint: trimSlashes(parsed.data[MANAGEMENT_ENDPOINT_OUTPUT] as string) };
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

function sameUrl(a: string, b: string): boolean {
  return trimSlashes(a) === trimSlashes(b);
}
