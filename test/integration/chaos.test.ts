/**
 * The chaos test in `npm test` (issue 13): short seeded runs of test/chaos/run.ts on the run's
 * DynamoDB Local, judged by test/chaos/invariants.ts. The long run is
 * `npm run chaos -- --duration-s 600 --seed S` (scripts/chaos.ts). The report is printed; a failure
 * names the invariant, and the seed replays the draws (not the interleaving of concurrent calls).
 *
 * - every fault class at once: store (sdk-retry, lost-response, before), posts (410, 429 bursts,
 *   timeouts before and after the post, partial fragment posts), dropped `$disconnect`, jitter,
 *   forced reconnects (abrupt and with DISCONNECT), the sweeper on a compressed schedule;
 * - the classes that hold on main today: forced reconnects (abrupt and with DISCONNECT) and
 *   jitter. Store faults (defects 1 to 3 and 5 of issue 13), post faults (a QoS 2 copy posted
 *   again under a new packet id), dropped
 *   `$disconnect` and 410 (a will published after DISCONNECT: the 410 races the connection's
 *   queued frames) break it today: see docs/RELIABILITY.md, "Fault injection and chaos".
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
