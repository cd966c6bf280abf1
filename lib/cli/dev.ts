/**
 * `stratus dev`: local mode. Starts DynamoDB Local (or uses DYNAMODB_ENDPOINT; or, with
 * `--store memory`, keeps the state in the in-memory stores, with no Java), creates the tables,
 * starts the local gateway in front of the same handlers Lambda runs, prints how to connect, and
 * stops everything cleanly on Ctrl-C.
 */
import type { Command } from 'commander';
import { BRIDGE_DEFAULTS, startBridge, type Bridge } from '../client/bridge';
import { JavaRequiredError } from '../local/dynamodb-errors';
import { startLocalBroker, type LocalBroker } from '../local/local-broker';
import { memoryStorage } from '../local/memory-store';
import { clearLocalState, writeLocalState } from './admin/local-state';

/** The table prefix of `stratus dev`; the admin commands default to it too. */
const LOCAL_TABLE_PREFIX = 'stratus-local-';
import { createLogger, type Logger } from '../log';
import { DEV_DEFAULTS, parseDevOptions, type DevOptions } from './dev-options';

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description(`run the broker locally (default ws://${DEV_DEFAULTS.host}:${DEV_DEFAULTS.port}/${DEV_DEFAULTS.stage})`)
    .option('--host <host>', 'address to listen on', DEV_DEFAULTS.host)
    .option('--port <port>', 'port to listen on (0 picks a free one)', String(DEV_DEFAULTS.port))
    .option('--stage <name>', 'stage name: the WebSocket path and the @connections prefix', DEV_DEFAULTS.stage)
    .option('--strict', 'behave exactly like API Gateway: refuse binary frames, enforce 32 KB frames and 128 KB messages', false)
    .option('--store <store>', 'where the state lives: dynamodb (DynamoDB Local, needs Java) or memory (in this process, no Java)', 'dynamodb')
    .option('--data <dir>', 'keep DynamoDB Local data in this directory (default: in memory)')
    .option('--dynamodb-endpoint <url>', 'use this DynamoDB endpoint instead of starting DynamoDB Local (also: DYNAMODB_ENDPOINT)')
    .option('--ingress <mode>', "ordered: each connection's packets in order, through an emulated SQS FIFO queue, as deployed; direct: one unordered handler call per frame", 'ordered')
    .option('--ingress-consumers <n>', 'ordered ingress: batches handled at once (Lambda concurrency)', String(DEV_DEFAULTS.ingressConsumers))
    .option('--jitter-ms <ms>', 'random delay before each handler call, to surface ordering races', '0')
    .option('--drop-disconnect-rate <p>', 'probability (0..1) that $disconnect is never delivered', '0')
    .option('--swap-fraction <f>', "ordered ingress: fraction (0..1) of frames written to the queue after their connection's next frame, to exercise the restoring of order", '0')
    .option('--idle-timeout-ms <ms>', 'close connections silent for this long', String(DEV_DEFAULTS.idleTimeoutMs))
    .option('--max-connection-ms <ms>', 'close connections this long after they open', String(DEV_DEFAULTS.maxConnectionMs))
    .option('--publish-rate <n>', 'per-client limit: PUBLISH packets a second per client, as deployed (0 turns it off); a client above it is disconnected (v5: DISCONNECT 0x96)', String(DEV_DEFAULTS.publishRate))
    .option('--publish-burst <n>', 'per-client limit: PUBLISH packets a client may send at once', String(DEV_DEFAULTS.publishBurst))
    .option('--auth', 'refuse anonymous clients (local mode allows them by default)', false)
    .option('--tcp <port>', 'also accept plain MQTT over TCP on this port, for stock clients (0 picks a free one)')
    .option('--jwt-issuer <iss>', 'token authentication: the JWT issuer (with --jwt-audience and --jwt-jwks-url)')
    .option('--jwt-audience <aud>', 'token authentication: the JWT audience')
    .option('--jwt-jwks-url <url>', 'token authentication: where the signing keys (JWKS) are')
    .option('--jwt-username-claim <claim>', 'token authentication: the claim holding the username (default sub)')
    .action(async (raw: Record<string, unknown>) => {
      await runDev(parseDevOptions(raw));
    });
}

export async function runDev(options: DevOptions): Promise<void> {
  const log = createLogger({ level: 'info' });
  const broker = await startLocalBroker({
    ...(options.store === 'memory' ? { storage: memoryStorage() } : {}),
    gateway: {
      host: options.host,
      port: options.port,
      stage: options.stage,
      strict: options.strict,
      ingress: options.ingress,
      ingressConsumers: options.ingressConsumers,
      jitterMs: options.jitterMs,
      dropDisconnectRate: options.dropDisconnectRate,
      swapFraction: options.swapFraction,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionDurationMs: options.maxConnectionMs,
    },
    dynamodbEndpoint: options.dynamodbEndpoint,
    dynamodb: { dataDir: options.data },
    tablePrefix: LOCAL_TABLE_PREFIX,
    broker: { allowAnonymous: !options.auth },
    publishRate: { perSecond: options.publishRate, burst: options.publishBurst },
    ...(options.jwtIssuer === undefined || options.jwtAudience === undefined || options.jwtJwksUrl === undefined
      ? {}
      : {
          jwt: {
            issuer: options.jwtIssuer,
            audience: options.jwtAudience,
            jwksUrl: options.jwtJwksUrl,
            ...(options.jwtUsernameClaim === undefined ? {} : { usernameClaim: options.jwtUsernameClaim }),
          },
        }),
    log,
  }).catch((error: unknown) => {
    if (!(error instanceof JavaRequiredError)) throw error;
    throw new Error(`${error.message}; or run without Java: stratus dev --store memory`, { cause: error });
  });
  let bridge: Bridge | undefined;
  try {
    bridge = options.tcp === undefined ? undefined : await startTcpBridge(broker, options, log);
  } catch (error) {
    await broker.stop();
    throw error;
  }
  // Where `stratus user|acl|sessions|retained` find this broker (docs/SECURITY.md); the memory
  // store lives in this process, out of their reach.
  try {
    if (options.store === 'dynamodb') await writeLocalState({
      dynamodbEndpoint: broker.dynamodbEndpoint,
      tablePrefix: LOCAL_TABLE_PREFIX,
      managementEndpoint: broker.managementEndpoint,
      url: broker.url,
    });
  } catch (error) {
    await bridge?.close();
    await broker.stop();
    throw error;
  }
  process.stdout.write(banner(broker, options, bridge));
  await untilSignal();
  process.stdout.write('stopping…\n');
  await bridge?.close();
  await broker.stop();
  await clearLocalState();
}

/**
 * `--tcp`: an in-process edge bridge from plain MQTT over TCP to the local gateway's own URL,
 * over the base64 text transport, so stock clients work even in strict mode.
 */
function startTcpBridge(broker: LocalBroker, options: DevOptions, log: Logger): Promise<Bridge> {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return startBridge(
    {
      listen: [{ scheme: 'mqtt', host: options.host, port: options.tcp ?? 1883, tls: false }],
      upstream: `ws://${loopbackFor(host)}:${broker.port}/${options.stage}`,
      batchMs: 0,
      batchBytes: BRIDGE_DEFAULTS.batchBytes,
      connectTimeoutMs: BRIDGE_DEFAULTS.connectTimeoutMs,
      check: false,
      logLevel: 'info',
    },
    { log: log.child({ component: 'bridge' }) },
  );
}

/** The gateway's own address as the bridge dials it: a wildcard listen address means loopback. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '[::]') return '[::1]';
  return host;
}

function banner(broker: LocalBroker, options: DevOptions, bridge?: Bridge): string {
  const lines = [
    '',
    `Stratus local broker listening on ${broker.url}${options.strict ? ' (strict: behaves like API Gateway)' : ''}`,
    `  Ingress:          ${options.ingress === 'ordered' ? `ordered (emulated SQS FIFO queue, ${options.ingressConsumers} consumers${options.swapFraction > 0 ? `, ${options.swapFraction} of frames swapped before it` : ''})` : 'direct (unordered, one handler call per frame)'}`,
    `  @connections API: ${broker.managementEndpoint}/@connections/{id}`,
    `  Publish limit:    ${options.publishRate > 0 ? `${options.publishRate} PUBLISH a second per client, bursts of ${options.publishBurst} (--publish-rate, --publish-burst)` : 'off (--publish-rate 0)'}`,
    options.store === 'memory'
      ? '  Store:            in memory, in this process (no DynamoDB; `stratus user|acl|sessions|retained` cannot reach it)'
      : `  DynamoDB:         ${broker.dynamodbEndpoint}${options.data ? ` (data in ${options.data})` : ' (in memory)'}`,
    '',
    'Connect with MQTT.js through the Stratus transport (base64 text frames, as on AWS):',
    `  import { connect } from 'stratus-mqtt/client';`,
    `  const client = connect('${broker.url}', { protocolVersion: 5 });`,
    '',
  ];
  if (bridge) {
    const tcp = new URL(bridge.listeners[0].url);
    lines.push(
      `Stock MQTT clients over TCP (bridged to the gateway): ${bridge.listeners[0].url}`,
      `  mosquitto_sub -h ${tcp.hostname.replace(/^\[(.*)\]$/, '$1')} -p ${tcp.port} -t 'plant/#' -v`,
      '',
    );
  }
  if (!options.strict) {
    lines.push(
      'Or with any stock MQTT-over-WebSocket client (binary frames, local lenient mode only):',
      `  npx mqtt sub -t 'plant/#' -v -l ws -h ${options.host} -p ${broker.port} --path /${options.stage}`,
      '',
    );
  }
  if (!options.auth) {
    lines.push('WARNING: anonymous clients are allowed in local mode. Use --auth to refuse them.', '');
  }
  lines.push('Press Ctrl-C to stop.', '');
  return lines.join('\n');
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
