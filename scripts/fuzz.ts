/**
 * The handler fuzzer from the command line (test/fuzz/handler-fuzzer.ts): random and mutated
 * packets through the `$default` handler on the memory stores, each answer judged against the
 * spec.
 *
 *   npm run fuzz                                   100,000 packets, seed 1
 *   npm run fuzz -- --packets 1000000 --seed 42    a million
 *
 * Prints packets/s and the count of each reaction; exits with 1 on any oracle failure, printing
 * the seed and the failing connection's messages (base64), and with 2 on a bad option.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { formatReport, fuzzHandler } from '../test/fuzz/handler-fuzzer';

const USAGE = 'usage: npm run fuzz -- [--packets N] [--seed S] [--help]';

const OptionsSchema = z
  .object({
    packets: z.coerce.number().int().min(1).max(1_000_000_000).default(100_000),
    seed: z.coerce.number().int().min(0).max(0xffff_ffff).default(1),
    help: z.boolean().default(false),
  })
  .strict();

type Options = z.infer<typeof OptionsSchema>;

/** The options, or one line naming the problem and exit 2. */
function options(): Options {
  let values;
  try {
    ({ values } = parseArgs({
      options: { packets: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return fail((error as Error).message.split('\n')[0]);
  }
  const parsed = OptionsSchema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return fail(`invalid --${String(issue.path[0] ?? 'options')}: ${issue.message}`);
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { packets, seed, help } = options();
  if (help) {
    console.log(USAGE);
    return;
  }
  const every = Math.max(100_000, Math.floor(packets / 10));
  const report = await fuzzHandler({
    seed,
    packets,
    progress: { every, report: (sent) => console.error(`  ${sent.toLocaleString('en-US')} packets`) },
  });
  for (const line of formatReport(report)) console.log(line);
  if (report.failures.length > 0) process.exitCode = 1;
}

await main();
