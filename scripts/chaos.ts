/**
 * The chaos run from the command line (test/chaos/run.ts): MQTT.js clients through a local broker
 * on DynamoDB Local (started here, or DYNAMODB_ENDPOINT), faults injected at random from a seed.
 *
 *   npm run chaos                                        20 s of faults, seed 1, every fault class
 *   npm run chaos -- --duration-s 600 --seed 42          ten minutes
 *   npm run chaos -- --store before --posts '' --drop-disconnect-rate 0 --reconnect-every-ms 0
 *
 * `--store` and `--posts` take comma-separated kinds ('' for none): store sdk-retry, lost-response,
 * before; posts gone, throttle, timeout-after, timeout-before, partial. Prints the report; exits
 * with 1 when an invariant fails, with 2 on a bad option. CHAOS_LOG=info CHAOS_LOG_FILE=path keeps
 * the broker's log lines (errors only by default) in a file; CHAOS_JOURNAL_FILE=path keeps the journal
 * (publishes with their start and ack times, receipts with their time, packet id and DUP flag).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startLocalBroker } from '../lib/local/local-broker';
import { createLogger } from '../lib/log';
import { parseChaosOptions, type ChaosOptions } from '../test/chaos/options';
import { formatReport } from '../test/chaos/report';
import { runChaos } from '../test/chaos/run';

const USAGE =
  'usage: npm run chaos -- [--duration-s N] [--seed S] [--clients N] [--publish-every-ms N] [--large-fraction F] ' +
  '[--store KINDS] [--store-rate R] [--posts KINDS] [--post-rate R] [--drop-disconnect-rate R] [--jitter-ms N] ' +
  '[--reconnect-every-ms N] [--sweep-every-ms N] [--grace-ms N] [--settle-s N]';

const NUMBERS = ['duration-s', 'seed', 'clients', 'publish-every-ms', 'large-fraction', 'store-rate', 'post-rate', 'drop-disconnect-rate', 'jitter-ms', 'reconnect-every-ms', 'sweep-every-ms', 'grace-ms', 'settle-s'];
const LISTS = ['store', 'posts'];

/** The options, or one line naming the problem and exit 2. */
function options(): ChaosOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: Object.fromEntries([...NUMBERS, ...LISTS, 'help'].map((name) => [name, { type: name === 'help' ? 'boolean' : 'string' }])),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | boolean | undefined> });
  } catch (error) {
    return fail((error as Error).message.split('\n')[0]);
  }
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const input: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name === 'help' || typeof value !== 'string') continue;
    const key = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    input[key] = LISTS.includes(name) ? value.split(',').filter((k) => k !== '') : value.trim() === '' ? Number.NaN : Number(value);
  }
  try {
    return parseChaosOptions(input);
  } catch (error) {
    return fail((error as Error).message);
  }
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const chosen = options();
  const logged: string[] = [];
  const report = await runChaos(
    chosen,
    async (brokerOptions) => {
      const broker = await startLocalBroker({
        ...brokerOptions,
        tablePrefix: `chaos-${randomUUID().slice(0, 8)}-`,
        log: createLogger({ level: process.env.CHAOS_LOG === 'info' ? 'info' : 'error', write: (line) => logged.push(line) }),
        gateway: { port: 0, strict: true, ...brokerOptions.gateway },
        ...(process.env.DYNAMODB_ENDPOINT ? { dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT } : {}),
      });
      return { broker, stop: () => broker.stop() };
    },
    (line) => console.log(line),
  );
  console.log(formatReport(report));
  console.log(`  broker lines logged: ${logged.length}`);
  if (process.env.CHAOS_LOG_FILE) writeFileSync(process.env.CHAOS_LOG_FILE, logged.join('\n'));
  if (process.env.CHAOS_JOURNAL_FILE) writeFileSync(process.env.CHAOS_JOURNAL_FILE, JSON.stringify(report.journal, null, 1));
  process.exit(report.verdict.failures.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
