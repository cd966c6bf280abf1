/**
 * Options of `stratus smoke` (`npm run smoke:aws`), validated with zod. Commander hands over
 * strings; a bad value becomes one error line that names the option.
 */
import { z } from 'zod';
import { TargetOptionsSchema } from '../admin/target';

export const SMOKE_DEFAULTS = {
  protocol: '5',
  prefix: 'stratus-smoke',
  burst: 200,
  timeoutSeconds: 30,
} as const;

/** Environment variables read when the option is not given, to keep secrets out of the shell history. */
export const SMOKE_ENV = { password: 'STRATUS_SMOKE_PASSWORD', token: 'STRATUS_SMOKE_TOKEN' } as const;

/** The ids of the checks, in the order they run (./index.ts has the checks themselves). */
export const CHECK_IDS = ['subprotocol', 'frame-type', 'frame-boundary', 'qos1', 'qos2', 'ordering', 'will', 'anonymous', 'integration-error'] as const;
export type CheckId = (typeof CHECK_IDS)[number];

const OnlySchema = z
  .string()
  .transform((text) => text.split(',').map((id) => id.trim()).filter((id) => id !== ''))
  .refine((ids) => ids.length > 0 && ids.every((id) => (CHECK_IDS as readonly string[]).includes(id)), `check ids separated by commas, of ${CHECK_IDS.join(', ')}`)
  .transform((ids) => ids as CheckId[]);

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

const WebSocketUrlSchema = z
  .url({ protocol: /^wss?$/, error: 'a wss:// URL' })
  .refine((text) => {
    const url = new URL(text);
    return url.protocol === 'wss:' || LOOPBACK.has(url.hostname);
  }, 'must be wss:// (ws:// only for a loopback host)');

/** A topic prefix the user may publish and subscribe under: levels of letters, no wildcard, no `$`. */
const TopicPrefixSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^$#+/\u0000][^#+\u0000]*$/, 'a topic prefix without wildcards, not starting with $ or /')
  .refine((text) => !text.endsWith('/'), 'must not end with /');

export const SmokeOptionsSchema = z
  .object({
    url: WebSocketUrlSchema.optional(),
    stack: TargetOptionsSchema.shape.stack,
    region: TargetOptionsSchema.shape.region,
    token: z.string().regex(/^[A-Za-z0-9._~+/=-]+$/, 'a token (JWT) without spaces').max(4000).optional(),
    username: z.string().min(1).max(65_535).optional(),
    password: z.string().max(65_535).optional(),
    protocol: z.enum(['4', '5'], { error: '4 or 5' }).default(SMOKE_DEFAULTS.protocol).transform((v) => (v === '4' ? 4 : 5) as 4 | 5),
    expectAnonymous: z.enum(['refused', 'allowed'], { error: 'refused or allowed' }).optional(),
    prefix: TopicPrefixSchema.default(SMOKE_DEFAULTS.prefix),
    burst: z.coerce.number({ error: 'a whole number' }).int('a whole number').min(1).max(1000).default(SMOKE_DEFAULTS.burst),
    timeout: z.coerce.number({ error: 'a number of seconds' }).int('a whole number of seconds').min(1).max(600).default(SMOKE_DEFAULTS.timeoutSeconds),
    only: OnlySchema.optional(),
    json: z.boolean().default(false),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.url === undefined && o.stack === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required (or --stack to read it from the stack outputs)' });
    if (o.region !== undefined && o.stack === undefined) ctx.addIssue({ code: 'custom', path: ['region'], message: 'needs --stack' });
    if (o.password !== undefined && o.username === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'needs --username' });
    if (o.token !== undefined && o.url !== undefined && new URL(o.url).searchParams.has('token')) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: 'the URL already has a token' });
    }
  });

export type SmokeOptions = z.output<typeof SmokeOptionsSchema>;

/** An option that is not valid: exit 2 with its one-line message. */
export class SmokeInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmokeInputError';
  }
}

/** Validates commander's raw options (plus the environment's secrets); throws SmokeInputError naming the option. */
export function parseSmokeOptions(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>> = {}): SmokeOptions {
  const withEnv = {
    ...raw,
    ...(raw.password === undefined && env[SMOKE_ENV.password] !== undefined ? { password: env[SMOKE_ENV.password] } : {}),
    ...(raw.token === undefined && env[SMOKE_ENV.token] !== undefined ? { token: env[SMOKE_ENV.token] } : {}),
  };
  const parsed = SmokeOptionsSchema.safeParse(withEnv);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = issue.path.length > 0 ? String(issue.path[0]) : undefined;
  const name = key === undefined ? 'options' : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const message = issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.join(', ')}` : issue.message;
  throw new SmokeInputError(`invalid ${name}: ${message}`, { cause: parsed.error });
}

/** The URL with `token` in its query string (when given). */
export function urlWithToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const out = new URL(url);
  out.searchParams.set('token', token);
  return out.toString();
}

/** The URL without its `token` query parameter: what an anonymous client opens. */
export function urlWithoutToken(url: string): string {
  const out = new URL(url);
  if (!out.searchParams.has('token')) return url;
  out.searchParams.delete('token');
  return out.toString();
}

/** The URL as printed: a token in it replaced by `***`. */
export function displayUrl(url: string): string {
  const out = new URL(url);
  if (out.searchParams.has('token')) out.searchParams.set('token', '***');
  return decodeURIComponent(out.toString());
}
