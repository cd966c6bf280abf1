/**
 * Runtime configuration of the Lambda handlers, read from the environment and validated once,
 * at init. A bad value fails the cold start with one line naming the variable.
 *
 * | variable | meaning |
 * |---|---|
 * | STRATUS_TABLE_<ID> | physical name of each table in lib/store/schema.ts |
 * | STRATUS_MANAGEMENT_ENDPOINT | `@connections` callback URL (required: wills and the sweeper have no event to derive it from) |
 * | STRATUS_ALLOW_ANONYMOUS | 'true' lets clients connect without credentials (default 'false') |
 * | STRATUS_MAX_PACKET_SIZE | largest packet accepted, bytes (at most 98304: one 128 KB base64 message) |
 * | STRATUS_MAX_SESSION_EXPIRY | longest session expiry granted, seconds |
 * | STRATUS_MAX_QUEUE | most messages queued per offline session |
 * | STRATUS_INGRESS_MAX_RECEIVES | the ingress queue's maxReceiveCount: a frame's last attempt (default 5) |
 * | STRATUS_INGRESS_QUEUE_URL | ordered ingress: the queue a close found by the broker goes to (message and sweeper functions) |
 * | STRATUS_CAPABILITIES | JSON object of CONNACK capabilities (receiveMaximum, serverKeepAlive, ...), validated by the broker config |
 * | STRATUS_PUBLISH_RATE_PER_SECOND | PUBLISH packets per second per client, a decimal number; 0 turns the limit off (default 100; ./publish-rate.ts) |
 * | STRATUS_PUBLISH_RATE_BURST | PUBLISH packets a client may send at once, an integer >= 1 (default 200) |
 * | STRATUS_LOG_LEVEL | debug, info, warn or error (default info) |
 * | DYNAMODB_ENDPOINT | a DynamoDB-compatible endpoint (local mode only) |
 */
import * as z from '../zod-mini';
import { TABLE_IDS, tableEnvVar, type TableId } from '../store/schema';
import { MAX_PACKET_BYTES } from '../api-gateway';
import { DEFAULT_PUBLISH_RATE, type PublishRate } from './publish-rate';

const booleanString = z.pipe(
  z.enum(['true', 'false']),
  z.transform((v) => v === 'true'),
);

const tableShape = Object.fromEntries(TABLE_IDS.map((id) => [tableEnvVar(id), z.string().check(z.minLength(1))])) as Record<
  string,
  z.ZodMiniString<string>
>;

/** A decimal integer in [min, max], read from a variable that may be unset. */
const optionalInteger = (min: number, max: number) => z.optional(z.pipe(z.coerce.number(), z.integer(min, max)));

/** A decimal number in [0, max] ("0.5", "100"), read from a variable that may be unset; never "" (that is not 0). */
const optionalDecimal = (max: number) =>
  z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d+(\.\d+)?$/, 'must be a decimal number >= 0')), z.transform(Number)),
      z.number().check(z.maximum(max)),
    ),
  );

/** A JSON object in a variable; unset or empty: {}. */
const jsonObject = z.pipe(
  z.optional(z.string()),
  z.transform((text, ctx) => {
    if (text === undefined || text === '') return {};
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    ctx.issues.push({ code: 'custom', message: 'must be a JSON object', input: text });
    return z.NEVER;
  }),
);

const EnvSchema = z.object({
  ...tableShape,
  STRATUS_MANAGEMENT_ENDPOINT: z.url(),
  STRATUS_ALLOW_ANONYMOUS: z._default(booleanString, false),
  STRATUS_MAX_PACKET_SIZE: optionalInteger(128, MAX_PACKET_BYTES),
  STRATUS_MAX_SESSION_EXPIRY: optionalInteger(0, 0xffffffff),
  STRATUS_MAX_QUEUE: optionalInteger(0, 100_000),
  STRATUS_INGRESS_MAX_RECEIVES: optionalInteger(1, 1000),
  STRATUS_INGRESS_QUEUE_URL: z.optional(z.url()),
  STRATUS_CAPABILITIES: jsonObject,
  STRATUS_PUBLISH_RATE_PER_SECOND: optionalDecimal(1_000_000),
  STRATUS_PUBLISH_RATE_BURST: optionalInteger(1, 1_000_000),
  STRATUS_LOG_LEVEL: z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info'),
  DYNAMODB_ENDPOINT: z.optional(z.url()),
});

export interface RuntimeConfig {
  tables: Record<TableId, string>;
  managementEndpoint: string;
  allowAnonymous: boolean;
  maxPacketSize?: number;
  maxSessionExpiry?: number;
  maxQueue?: number;
  /** Attempts of an ingress frame before it is dead-lettered. */
  maxReceives?: number;
  /** Ordered ingress: the queue's URL, where the sweeper and a 410 send a connection's close. */
  ingressQueueUrl?: string;
  /** CONNACK capabilities; checked by parseBrokerConfig */
  capabilities: Record<string, unknown>;
  /** The per-client publish rate limit; `perSecond` 0: off. */
  publishRate: PublishRate;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  dynamodbEndpoint?: string;
}

export class ConfigurationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/** Parses the environment; throws ConfigurationError with a one-line message naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): RuntimeConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(`invalid environment: ${issue.path.join('.')}: ${issue.message}`, { cause: parsed.error });
  }
  const e = parsed.data as z.infer<typeof EnvSchema> & Record<string, string>;
  const tables = {} as Record<TableId, string>;
  for (const id of TABLE_IDS) tables[id] = e[tableEnvVar(id)];
  return {
    tables,
    managementEndpoint: e.STRATUS_MANAGEMENT_ENDPOINT,
    allowAnonymous: e.STRATUS_ALLOW_ANONYMOUS,
    maxPacketSize: e.STRATUS_MAX_PACKET_SIZE,
    maxSessionExpiry: e.STRATUS_MAX_SESSION_EXPIRY,
    maxQueue: e.STRATUS_MAX_QUEUE,
    maxReceives: e.STRATUS_INGRESS_MAX_RECEIVES,
    ingressQueueUrl: e.STRATUS_INGRESS_QUEUE_URL,
    capabilities: e.STRATUS_CAPABILITIES,
    publishRate: {
      perSecond: e.STRATUS_PUBLISH_RATE_PER_SECOND ?? DEFAULT_PUBLISH_RATE.perSecond,
      burst: e.STRATUS_PUBLISH_RATE_BURST ?? DEFAULT_PUBLISH_RATE.burst,
    },
    logLevel: e.STRATUS_LOG_LEVEL,
    dynamodbEndpoint: e.DYNAMODB_ENDPOINT,
  };
}
