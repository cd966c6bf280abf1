/**
 * The chaos test in `npm test` (issue 13): short seeded runs of test/chaos/run.ts on the run's
 * DynamoDB Local, judged by test/chaos/invariants.ts. The long run is
 * `npm run chaos -- --duration-s 600 --seed S` (scripts/chaos.ts). The report is printed; a failure
 * names the invariant, and the seed replays the draws (not the interleaving of concurrent calls).
 *
 * - every fault class at once: store (sdk-retry, lost-response, before), posts (410, 429 bursts,
 *   timeouts before and after the post, partial fragment posts), dropped `$disconnect`, jitter,
 *   forced reconnects (abrupt and with DISCONNECT), the sweeper on a compressed schedule;
 * - the classes that hold every run today: forced reconnects (abrupt and with DISCONNECT) and
 *   jitter.
 *
 * The every-class run was skipped in `npm test` until it held every run. The QoS 2
 * publish lost by every subscriber (a receipt write applied with its answer lost, then taken for a
 * duplicate), the will published twice after a failed settle and the clean-session copy lost after
 * two failed steps are fixed, and so is the clean session whose new connection stopped getting
 * copies (an old connection's rerun deleted the new session's message state): 6 of 6 runs held
 * after that. Those two and the later ones (a copy queued twice, a will held and made due, a copy
 * dropped after three failed enqueues, a rerun enqueue that skipped its put) are fixed, and the
 * ten-minute run holds (docs/RELIABILITY.md, "The ten-minute run, session 9"). In 14 runs of
 * session 9, 12 held; two lost owed copies to a clean subscriber, found since: an old
 * connection's late disconnect path deleted the new clean session's subscriptions (attach).
 * With that fix it held 20 runs of 20 (8 on this seed, 12 on others, through `npm run chaos`), and
 * runs here again. `npx vitest run test/integration/chaos.test.ts -t "every fault class"` runs it
 * alone; `npm run chaos` with `CHAOS_LOG=info CHAOS_LOG_FILE=…` keeps the broker log.
 */
import { describe, expect, it } from 'vitest';
import { formatReport } from '../chaos/report';
import { runChaos, type StartBroker } from '../chaos/run';
import type { ChaosOptionsInput } from '../chaos/options';
import { startTestBroker } from '../helpers/local-broker';

const startBroker: StartBroker = async (options) => {
  const broker = await startTestBroker(options);
  return { broker, stop: () => broker.dispose() };
};

async function chaos(options: ChaosOptionsInput) {
  const report = await runChaos(options, startBroker);
  console.log(formatReport(report));
  return report;
}

/** A passing run takes about 25 s; a failing one waits out its deadlines (settle 30 s, then 15 s per phase). */
const SHORT = { durationS: 15, clients: 6, settleS: 30 } as const;

describe('chaos', () => {
  it('every fault class at once: no loss, no QoS 2 duplicate, every will once, every session kept', async () => {
    const report = await chaos({ ...SHORT, seed: 0x13c0ffee, storeRate: 0.02, postRate: 0.02, dropDisconnectRate: 0.3, reconnectEveryMs: 4000 });
    expect(report.verdict.failures).toEqual([]);
  }, 240_000);

  it('the classes that hold today (forced reconnects, jitter): the same invariants', async () => {
    const report = await chaos({ ...SHORT, seed: 0x5eed13, store: [], posts: [], dropDisconnectRate: 0, reconnectEveryMs: 4000 });
    expect(report.verdict.failures).toEqual([]);
  }, 240_000);
});
