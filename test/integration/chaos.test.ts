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
 * The every-class run is SKIPPED in `npm test` because it does not yet hold every run. The QoS 2
 * publish lost by every subscriber (a receipt write applied with its answer lost, then taken for a
 * duplicate), the will published twice after a failed settle and the clean-session copy lost after
 * two failed steps are fixed, and so is the clean session whose new connection stopped getting
 * copies (an old connection's rerun deleted the new session's message state): 6 of 6 runs held
 * after that. Those two and the later ones (a copy queued twice, a will held and made due, a copy
 * dropped after three failed enqueues, a rerun enqueue that skipped its put) are fixed, and the
 * ten-minute run holds (docs/RELIABILITY.md, "The ten-minute run, session 9"). Still skipped: in
 * 14 runs of session 9, 12 held; two lost owed copies (31, and 5 all to the v4 clean subscriber
 * in the same second), not yet diagnosed. Run it with
 * `npx vitest run test/integration/chaos.test.ts -t "every fault class"` after removing `.skip`,
 * or `npm run chaos`. Un-skip it when it holds; issue 13 stays open until then.
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
  it.skip('every fault class at once: no loss, no QoS 2 duplicate, every will once, every session kept', async () => {
    const report = await chaos({ ...SHORT, seed: 0x13c0ffee, storeRate: 0.02, postRate: 0.02, dropDisconnectRate: 0.3, reconnectEveryMs: 4000 });
    expect(report.verdict.failures).toEqual([]);
  }, 240_000);

  it('the classes that hold today (forced reconnects, jitter): the same invariants', async () => {
    const report = await chaos({ ...SHORT, seed: 0x5eed13, store: [], posts: [], dropDisconnectRate: 0, reconnectEveryMs: 4000 });
    expect(report.verdict.failures).toEqual([]);
  }, 240_000);
});
