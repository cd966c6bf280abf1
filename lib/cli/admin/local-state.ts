/**
 * `.stratus/local.json`: where a running `stratus dev` can be reached. `stratus dev` writes it
 * when the broker is up (writeLocalState) and removes it when it stops (clearLocalState); the
 * admin commands read it in local mode when no `--dynamodb-endpoint` says where to go.
 *
 * The file records the writer's pid: a file left behind by a broker that was killed is ignored,
 * rather than sending the commands to an endpoint nobody listens on.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AdminFailureError, oneLine } from './errors';

export const LOCAL_STATE_DIR = '.stratus';
export const LOCAL_STATE_FILE = 'local.json';
export const DEFAULT_TABLE_PREFIX = 'stratus-local-';

/** A table name prefix: DynamoDB table names are [A-Za-z0-9_.-], 3 to 255 characters. */
export const TablePrefixSchema = z
  .string()
  .max(200, 'at most 200 characters')
  .regex(/^[A-Za-z0-9_.-]*$/, 'letters, digits, _ . and - only');

const HttpUrlSchema = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

export const LocalStateSchema = z.object({
  /** The DynamoDB (Local) endpoint of the broker's tables */
  dynamodbEndpoint: HttpUrlSchema,
  tablePrefix: TablePrefixSchema.default(DEFAULT_TABLE_PREFIX),
  /** The local gateway's `@connections` endpoint, e.g. http://127.0.0.1:8083/mqtt */
  managementEndpoint: HttpUrlSchema.optional(),
  /** The broker's WebSocket URL (informational) */
  url: z.string().optional(),
  /** The process that wrote the file */
  pid: z.number().int().positive().optional(),
});

export type LocalState = z.infer<typeof LocalStateSchema>;
export type LocalStateInput = z.input<typeof LocalStateSchema>;

export function localStatePath(dir: string = process.cwd()): string {
  return join(dir, LOCAL_STATE_DIR, LOCAL_STATE_FILE);
}

/** Records a running local broker; `pid` defaults to this process. */
export async function writeLocalState(state: LocalStateInput, dir: string = process.cwd()): Promise<string> {
  const value = LocalStateSchema.parse({ pid: process.pid, ...state });
  const path = localStatePath(dir);
  await mkdir(join(dir, LOCAL_STATE_DIR), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, 'utf8');
  return path;
}

/** Removes the file if this process (or `pid`) wrote it; a file of another broker stays. */
export async function clearLocalState(dir: string = process.cwd(), pid: number = process.pid): Promise<void> {
  const state = await readLocalStateFile(dir).catch(() => undefined);
  if (state !== undefined && state.pid !== undefined && state.pid !== pid) return;
  await rm(localStatePath(dir), { force: true });
}

/**
 * The state of a running local broker, or undefined if there is no file or its writer is gone.
 * @throws AdminFailureError if the file exists but is not valid
 */
export async function readLocalState(
  dir: string = process.cwd(),
  isAlive: (pid: number) => boolean = processIsAlive,
): Promise<LocalState | undefined> {
  const state = await readLocalStateFile(dir);
  if (state?.pid !== undefined && !isAlive(state.pid)) return undefined;
  return state;
}

async function readLocalStateFile(dir: string): Promise<LocalState | undefined> {
  const path = localStatePath(dir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AdminFailureError(`invalid ${path}: not JSON (${oneLine((error as Error).message)})`, { cause: error });
  }
  const parsed = LocalStateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : 'the file';
    throw new AdminFailureError(`invalid ${path}: ${field}: ${oneLine(issue.message)}`);
  }
  return parsed.data;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
