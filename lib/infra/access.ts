/**
 * Who may do what: the explicit least-privilege table of the broker's Lambda functions.
 *
 * Each function gets only the DynamoDB actions listed for it, on the tables listed for it, and only
 * the `@connections` methods it calls. A table added to lib/store/schema.ts by a later issue, and
 * not yet listed here, gets the function's `unlistedTable` actions (read and write for the
 * functions that route messages or clean up, nothing for $connect): list it explicitly once its
 * access pattern is known.
 */
import type { TableId } from '../store/schema';
import type { IngressMode } from './props';

export type FunctionId = 'connect' | 'disconnect' | 'message' | 'sweeper' | 'authorizer';
/** The functions every broker deploys; the authorizer exists only with token authentication (`jwt`). */
export type CoreFunctionId = Exclude<FunctionId, 'authorizer'>;

/** DynamoDB item actions the runtime uses (TransactWriteItems needs the per-item actions). */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

/** `@connections` HTTP methods: POST sends, GET reads the connection, DELETE disconnects it. */
export type ConnectionMethod = 'POST' | 'GET' | 'DELETE';

export interface FunctionSpec {
  /** Entry file, relative to the package's functions/ directory */
  readonly entry: string;
  /** What the function does, for its description */
  readonly description: string;
  /** Explicit DynamoDB actions per table */
  readonly tables: Readonly<Partial<Record<TableId, readonly TableAction[]>>>;
  /** Actions on a table this spec does not list yet */
  readonly unlistedTable: readonly TableAction[];
  /** `@connections` methods on this API's stage */
  readonly connections: readonly ConnectionMethod[];
}

const READ_WRITE: readonly TableAction[] = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'ConditionCheckItem',
];

/**
 * The publish/subscribe tables, as every function that routes messages uses them: `$default`
 * (publishes, subscriptions, acks), `$disconnect` and the sweeper (which end sessions and publish
 * wills). Query covers the `byClient` index; Scan on retained serves a subscription whose filter
 * starts with a wildcard; BatchWriteItem deletes an ended session's message state.
 */
const PUBSUB_TABLES = {
  subscriptions: ['Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
  retained: ['Query', 'Scan', 'PutItem'],
  messages: ['Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
} as const satisfies Partial<Record<TableId, readonly TableAction[]>>;

export const FUNCTION_SPECS: Readonly<Record<FunctionId, FunctionSpec>> = {
  connect: {
    entry: 'connect.ts',
    description: 'Stratus $connect: negotiates the subprotocol and records the new connection',
    // The authorizer's principal arrives in the event; $connect reads no users or rules.
    tables: { connections: ['PutItem'], auth: [] },
    unlistedTable: [],
    connections: [],
  },
  // Deployed with direct ingress only: with ordered ingress the message function runs the
  // disconnect path for the queue's DISCONNECT records, so its grants cover this function's.
  disconnect: {
    entry: 'disconnect.ts',
    description: 'Stratus $disconnect: removes the connection, fires its will, ends clean sessions',
    tables: {
      connections: ['GetItem', 'DeleteItem'],
      sessions: ['GetItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
      ...PUBSUB_TABLES,
      auth: [],
    },
    unlistedTable: READ_WRITE,
    connections: ['POST'],
  },
  message: {
    entry: 'message.ts',
    description: 'Stratus $default frames (or the ordered ingress queue): decodes MQTT packets, routes them, delivers over @connections',
    tables: {
      connections: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
      sessions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
      ...PUBSUB_TABLES,
      // CONNECT loads the user with its rules (one Query) and each of its groups' rules (one Query each).
      auth: ['Query'],
    },
    unlistedTable: READ_WRITE,
    connections: ['POST', 'GET', 'DELETE'],
  },
  sweeper: {
    entry: 'sweeper.ts',
    description: 'Stratus sweeper: finds dead connections, fires their wills, expires their sessions',
    tables: {
      connections: ['Scan', 'GetItem', 'UpdateItem', 'DeleteItem'],
      // Query: due delayed wills, through the sessions' sparse sweep index (no scan).
      sessions: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
      ...PUBSUB_TABLES,
      auth: [],
    },
    unlistedTable: READ_WRITE,
    connections: ['POST', 'GET', 'DELETE'],
  },
  authorizer: {
    entry: 'authorizer.ts',
    description: 'Stratus $connect authorizer: verifies a JWT from the query string or the Authorization header',
    // Verifies signatures against the issuer's JWKS (HTTPS); no table, no @connections.
    tables: {},
    unlistedTable: [],
    connections: [],
  },
};

/** Every function spec, deployed or not. */
export const FUNCTION_IDS = Object.keys(FUNCTION_SPECS) as FunctionId[];
export const CORE_FUNCTION_IDS: readonly CoreFunctionId[] = ['connect', 'disconnect', 'message', 'sweeper'];

/** The core functions a broker deploys: `disconnect` only with direct ingress (ordered: the message function closes). */
export function coreFunctionIds(ingress: IngressMode): CoreFunctionId[] {
  return CORE_FUNCTION_IDS.filter((id) => id !== 'disconnect' || ingress === 'direct');
}

/** The functions a broker deploys: its core ones, plus the authorizer with token authentication. */
export function deployedFunctionIds(options: { readonly tokenAuthentication: boolean; readonly ingress: IngressMode }): FunctionId[] {
  const core: FunctionId[] = coreFunctionIds(options.ingress);
  return options.tokenAuthentication ? [...core, 'authorizer'] : core;
}

/** The DynamoDB actions one function has on one table (empty: no access). */
export function tableActions(fn: FunctionId, table: TableId): readonly TableAction[] {
  const spec = FUNCTION_SPECS[fn];
  return spec.tables[table] ?? spec.unlistedTable;
}

/** Actions that read through an index as well as the base table. */
export const INDEX_ACTIONS: readonly TableAction[] = ['Query', 'Scan'];
