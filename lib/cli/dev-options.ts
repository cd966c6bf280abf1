/**
 * Options of `stratus dev`, validated with zod. Commander hands over strings; this module turns
 * them into typed values, or one error line that names the option.
 */
import { z } from 'zod';
import { DEFAULT_PUBLISH_RATE } from '../runtime/publish-rate';

export const DEV_DEFAULTS = {
  host: '127.0.0.1',
  port: 8083,
  stage: 'mqtt',
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
  ingressConsumers: 4,
  publishRate: DEFAULT_PUBLISH_RATE.perSecond,
  publishBurst: DEFAULT_PUBLISH_RATE.burst,
} as const;

const port = z.coerce.number().int().min(0).max(65535);
const millis = z.coerce.number().int().min(1).max(7 * 24 * 3600 * 1000);
/** A decimal number >= 0 as commander hands it over: "" is refused, not read as 0. */
const decimal = (max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number >= 0')
    .transform(Number)
    .pipe(z.number().max(max));

export const DevOptionsSchema = z
  .object({
    host: z.string().min(1).default(DEV_DEFAULTS.host),
    port: port.default(DEV_DEFAULTS.port),
    stage: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
      .default(DEV_DEFAULTS.stage),
    strict: z.boolean().default(false),
    /** Where the state lives: DynamoDB Local (as deployed, needs Java) or the in-memory stores (no Java). */
    store: z.enum(['dynamodb', 'memory']).default('dynamodb'),
    data: z.string().min(1).optional(),
    /** How frames reach the handlers: through the emulated SQS FIFO queue (as deployed), or directly. */
    ingress: z.enum(['ordered', 'direct']).default('ordered'),
    /** Ordered ingress: batches handled at once (Lambda's concurrency on the queue). */
    ingressConsumers: z.coerce.number().int().min(1).max(1000).default(DEV_DEFAULTS.ingressConsumers),
    jitterMs: z.coerce.number().int().min(0).max(60_000).default(0),
    dropDisconnectRate: z.coerce.number().min(0).max(1).default(0),
    /** Ordered ingress: fraction (0..1) of frames swapped with their connection's next before the queue. */
    swapFraction: z.coerce.number().min(0).max(1).default(0),
    idleTimeoutMs: millis.default(DEV_DEFAULTS.idleTimeoutMs),
    maxConnectionMs: millis.default(DEV_DEFAULTS.maxConnectionMs),
    dynamodbEndpoint: z.url().optional(),
    /** The per-client publish rate limit, as deployed: PUBLISH packets a second per client; 0 turns it off. */
    publishRate: decimal(1_000_000).default(DEV_DEFAULTS.publishRate),
    /** PUBLISH packets a client may send at once, after being quiet. */
    publishBurst: z.coerce.number().int().min(1).max(1_000_000).default(DEV_DEFAULTS.publishBurst),
    auth: z.boolean().default(false),
    /** Also accept plain MQTT over TCP on this port (an in-process bridge); off by default. */
    tcp: port.optional(),
    /** Token authentication, as the deployed `jwt` prop: issuer, audience and JWKS URL together. */
    jwtIssuer: z.string().min(1).optional(),
    jwtAudience: z.string().min(1).optional(),
    jwtJwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    jwtUsernameClaim: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.store === 'memory') {
      if (o.data !== undefined) ctx.addIssue({ code: 'custom', path: ['data'], message: 'keeps DynamoDB Local data: not with --store memory' });
      if (o.dynamodbEndpoint !== undefined) ctx.addIssue({ code: 'custom', path: ['dynamodbEndpoint'], message: 'not with --store memory' });
      // `stratus user add` runs in another process and cannot reach the in-memory users.
      if (o.auth && o.jwtIssuer === undefined) ctx.addIssue({ code: 'custom', path: ['auth'], message: 'with --store memory needs token authentication (--jwt-*): stratus user cannot reach in-memory users' });
    }
    if (o.swapFraction > 0 && o.ingress !== 'ordered') ctx.addIssue({ code: 'custom', path: ['swapFraction'], message: 'needs --ingress ordered (frames are swapped before the queue)' });
    const given = [o.jwtIssuer, o.jwtAudience, o.jwtJwksUrl].filter((v) => v !== undefined).length;
    if (given === 0 && o.jwtUsernameClaim === undefined) return;
    for (const key of ['jwtIssuer', 'jwtAudience', 'jwtJwksUrl'] as const) {
      if (o[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required for token authentication (with --jwt-issuer, --jwt-audience and --jwt-jwks-url)' });
    }
  });

export type DevOptions = z.infer<typeof DevOptionsSchema>;

/** Validates raw commander options; throws an Error whose message is one line naming the option. */
export function parseDevOptions(raw: Record<string, unknown>): DevOptions {
  const parsed = DevOptionsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = issue.path.length > 0 ? `--${kebab(String(issue.path[0]))}` : 'options';
  throw new Error(`invalid ${name}: ${issue.message}`);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
