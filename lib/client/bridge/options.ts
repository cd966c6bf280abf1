/**
 * Options of the edge bridge, validated once with zod. Commander hands over strings; this module
 * turns them into a typed `BridgeConfig`, or one error line that names the option.
 */
import { z } from 'zod';
import { bytesFitting } from '../limits';
import { CLIENT_FRAME_CHARS, MESSAGE_LIMIT_BYTES, SEQ_PREFIX_RESERVE } from '../../api-gateway';

/**
 * Largest MQTT packet one upstream message can carry: the bridge numbers its messages
 * (docs/TRANSPORT.md section 3), so base64 of 128 KB less the prefix, 98,292 bytes.
 */
export const MAX_MESSAGE_BYTES = bytesFitting(MESSAGE_LIMIT_BYTES - SEQ_PREFIX_RESERVE);
/**
 * MQTT bytes whose numbered base64 fits one frame of CLIENT_FRAME_CHARS (32,000), so one metered
 * API Gateway message whether "32 KB" means 32,000 or 32,768: 23,988.
 */
export const FRAME_BYTES = bytesFitting(CLIENT_FRAME_CHARS - SEQ_PREFIX_RESERVE);

export const BRIDGE_DEFAULTS = {
  listen: 'mqtt://0.0.0.0:1883',
  batchMs: 0,
  batchBytes: FRAME_BYTES,
  connectTimeoutMs: 10_000,
  logLevel: 'info',
} as const;

/** Default port of each listener scheme. */
const DEFAULT_PORTS: Record<ListenScheme, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };
const LISTEN_SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss'] as const;
export type ListenScheme = (typeof LISTEN_SCHEMES)[number];

export interface ListenTarget {
  readonly scheme: ListenScheme;
  /** Host name or address, without IPv6 brackets */
  readonly host: string;
  /** 0 picks a free port */
  readonly port: number;
  /** Whether the listener needs a certificate and key */
  readonly tls: boolean;
}

/** Parses a listener URL such as `mqtt://0.0.0.0:1883`, `mqtts://:8883` or `ws://0.0.0.0:9001`. */
export function parseListenUrl(text: string): ListenTarget | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `not a URL: ${text}`;
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!(LISTEN_SCHEMES as readonly string[]).includes(scheme)) {
    return `scheme must be mqtt://, mqtts://, ws:// or wss://, got ${url.protocol}//`;
  }
  const listenScheme = scheme as ListenScheme;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  const port = url.port === '' ? DEFAULT_PORTS[listenScheme] : Number(url.port);
  return { scheme: listenScheme, host, port, tls: listenScheme === 'mqtts' || listenScheme === 'wss' };
}

const listenTarget = z.string().transform((text, ctx) => {
  const parsed = parseListenUrl(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const upstreamUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a URL: ${redactUrl(text)}` });
    return z.NEVER;
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
    ctx.addIssue({ code: 'custom', message: `must be a wss:// URL, got ${url.protocol}//` });
    return z.NEVER;
  }
  if (url.hash !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not have a #fragment' });
    return z.NEVER;
  }
  return url.href;
});

/** The bridge's configuration, as the library takes it (the CLI adds its own checks on top). */
export const bridgeConfigSchema = z
  .object({
    /** Where stock clients connect: mqtt://, mqtts://, ws://, wss:// URLs. */
    listen: z.array(listenTarget).min(1),
    /** The Stratus WebSocket URL (API Gateway's `wss://…/stage`), query string included. */
    upstream: upstreamUrl,
    /** Hold a connection's packets up to this long to pack them into one message. 0: per read. */
    batchMs: z.coerce.number().int().min(0).max(60_000).default(BRIDGE_DEFAULTS.batchMs),
    /** Send as soon as this many bytes are held. A bigger packet is sent alone. */
    batchBytes: z.coerce.number().int().min(2).max(MAX_MESSAGE_BYTES).default(BRIDGE_DEFAULTS.batchBytes),
    /** PEM certificate chain and key files for mqtts:// and wss:// listeners. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** Extra PEM CA file to trust for the upstream's certificate (private CA, test setups). */
    upstreamCa: z.string().min(1).optional(),
    /** Upstream handshake timeout. */
    connectTimeoutMs: z.coerce.number().int().min(100).max(120_000).default(BRIDGE_DEFAULTS.connectTimeoutMs),
    /** Open and close one upstream connection at start, to fail fast on a wrong URL. */
    check: z.boolean().default(true),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default(BRIDGE_DEFAULTS.logLevel),
  })
  .strict()
  .superRefine((config, ctx) => {
    const needsTls = config.listen.some((target) => target.tls);
    for (const name of ['cert', 'key'] as const) {
      if (needsTls && config[name] === undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'required by mqtts:// and wss:// listeners' });
      }
    }
  });

export type BridgeConfig = z.output<typeof bridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>;

/**
 * Validates raw commander options for `stratus bridge`; throws an Error whose message is one line
 * naming the option. On top of the schema, the upstream must use TLS unless it is on this host.
 */
export function parseBridgeOptions(raw: Record<string, unknown>): BridgeConfig {
  const listen = raw.listen === undefined || (Array.isArray(raw.listen) && raw.listen.length === 0) ? [BRIDGE_DEFAULTS.listen] : raw.listen;
  const parsed = bridgeConfigSchema.safeParse({ ...raw, listen });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue.path.length > 0 ? `--${kebab(String(issue.path[0]))}` : 'options';
    throw new Error(`invalid ${name}: ${issue.message}`);
  }
  const upstream = new URL(parsed.data.upstream);
  if (upstream.protocol === 'ws:' && !isLoopback(upstream.hostname)) {
    throw new Error('invalid --upstream: must be wss:// (ws:// is accepted only for a loopback host)');
  }
  return parsed.data;
}

/** localhost, 127.0.0.0/8 and ::1. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The URL without credentials or query string (where API Gateway tokens usually live), for logs. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
