/**
 * The edge bridge: listens for stock MQTT clients (TCP, TLS, binary WebSocket) and relays each
 * one to its own upstream Stratus connection over the base64 text transport. `stratus bridge`
 * and `stratus dev --tcp` run it; tests and the batching benchmark start it in-process.
 */
import { readFileSync } from 'node:fs';
import { createLogger, type Logger } from '../../log';
import type { Downstream } from './downstream';
import { startListener, type Listener, type TlsFiles } from './listeners';
import { redactUrl, type BridgeConfig } from './options';
import type { Timers } from './outbox';
import { Relay } from './relay';
import { BridgeStats } from './stats';
import { probeUpstream, type UpstreamTarget } from './upstream';

export interface BridgeRuntimeOptions {
  readonly log?: Logger;
  readonly timers?: Timers;
}

export interface Bridge {
  /** Where clients connect, with the ports actually bound (a `:0` listener gets a free port). */
  readonly listeners: readonly Listener[];
  readonly stats: BridgeStats;
  /** Stops listening and closes every relayed connection, both sides. Idempotent. */
  close(): Promise<void>;
}

/** A file named by an option cannot be read. */
export class BridgeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BridgeConfigError';
  }
}

/**
 * Starts the bridge. With `check` (the default) it first opens one upstream connection and
 * rejects with UpstreamUnreachableError when that fails, before it listens.
 */
export async function startBridge(config: BridgeConfig, options: BridgeRuntimeOptions = {}): Promise<Bridge> {
  const log = options.log ?? createLogger({ level: config.logLevel });
  const upstream: UpstreamTarget = {
    url: config.upstream,
    connectTimeoutMs: config.connectTimeoutMs,
    ca: config.upstreamCa === undefined ? undefined : readOption('--upstream-ca', config.upstreamCa),
  };
  const tls = tlsFiles(config);
  warnSharedToken(config, log);
  if (config.check) await probeUpstream(upstream);

  const stats = new BridgeStats();
  const relays = new Set<Relay>();
  let next = 0;
  const onClient = (client: Downstream) => {
    const relay: Relay = new Relay(client, {
      id: `b${(next++).toString(36)}`,
      upstream,
      batching: { batchMs: config.batchMs, batchBytes: config.batchBytes },
      log,
      stats,
      timers: options.timers,
      onClosed: (done) => relays.delete(done),
    });
    relays.add(relay);
  };

  const listeners: Listener[] = [];
  try {
    for (const target of config.listen) listeners.push(await startListener(target, tls, onClient, log));
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    throw error;
  }
  log.info('bridge listening', {
    listen: listeners.map((listener) => listener.url),
    upstream: redactUrl(config.upstream),
    batchMs: config.batchMs,
  });

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      const stopping = listeners.map((listener) => listener.close());
      for (const relay of [...relays]) relay.close();
      await Promise.all(stopping);
      log.info('bridge stopped', { ...stats.snapshot() });
    })());
  return { listeners, stats, close };
}

function tlsFiles(config: BridgeConfig): TlsFiles | undefined {
  if (config.cert === undefined || config.key === undefined) return undefined;
  return { cert: readOption('--cert', config.cert), key: readOption('--key', config.key) };
}

function readOption(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new BridgeConfigError(`cannot read ${option} ${path}: ${typeof code === 'string' ? code : String(error)}`, { cause: error });
  }
}

/**
 * A token in the upstream URL authenticates every upstream connection as its principal, and the
 * broker then ignores the CONNECT's own credentials (docs/SECURITY.md): any device that reaches a
 * plain listener beyond this host would act as that principal. Said loudly at start.
 */
function warnSharedToken(config: BridgeConfig, log: Logger): void {
  const url = new URL(config.upstream);
  const token = url.searchParams.has('token');
  const exposed = config.listen.filter((t) => !t.tls && !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(t.host));
  if (token && exposed.length > 0) {
    log.warn('the upstream token authenticates every client of a plain listener open beyond this host', {
      listeners: exposed.map((t) => `${t.scheme}://${t.host}:${t.port}`),
    });
  }
}
