/**
 * `stratus bridge`: the edge bridge. Stock MQTT clients connect over TCP, TLS or binary
 * WebSocket; each becomes one upstream connection to Stratus over the base64 text transport.
 * Runs until SIGINT or SIGTERM. A wrong or unreachable upstream stops it at start with one line
 * and a non-zero exit code.
 */
import type { Command } from 'commander';
import { BRIDGE_DEFAULTS, parseBridgeOptions, startBridge } from '../client/bridge';
import { untilSignal } from './dev';

export function registerBridgeCommand(program: Command): void {
  program
    .command('bridge')
    .description('relay stock MQTT clients (TCP, TLS, binary WebSocket) to Stratus over the base64 text transport')
    .option('--listen <url>', `where clients connect: mqtt://, mqtts://, ws:// or wss://HOST:PORT; repeatable (default ${BRIDGE_DEFAULTS.listen})`, collect)
    .requiredOption('--upstream <url>', 'the Stratus WebSocket URL, wss://… (ws:// only for a loopback host)')
    .option('--batch-ms <ms>', 'hold a connection\'s packets up to this long to pack them into one message (0: per read)', String(BRIDGE_DEFAULTS.batchMs))
    .option('--batch-bytes <n>', 'send once this many bytes are held (max 98292)', String(BRIDGE_DEFAULTS.batchBytes))
    .option('--cert <file>', 'PEM certificate chain for mqtts:// and wss:// listeners')
    .option('--key <file>', 'PEM private key for mqtts:// and wss:// listeners')
    .option('--upstream-ca <file>', 'extra PEM CA certificates to trust for the upstream')
    .option('--connect-timeout-ms <ms>', 'upstream handshake timeout', String(BRIDGE_DEFAULTS.connectTimeoutMs))
    .option('--no-check', 'do not open a test connection to the upstream at start')
    .option('--log-level <level>', 'debug, info, warn or error', BRIDGE_DEFAULTS.logLevel)
    .action(async (raw: Record<string, unknown>) => {
      const bridge = await startBridge(parseBridgeOptions(raw));
      await untilSignal();
      await bridge.close();
    });
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
