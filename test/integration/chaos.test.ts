/**
 * The chaos test in `npm test` (issue 13): a short seeded run of test/chaos/run.ts on the run's
 * DynamoDB Local, with every fault class, then one with the classes that hold today. The long run
 * is `npm run chaos -- --duration-s 600 --seed S` (scripts/chaos.ts). The report is printed; a
 * failure names the invariant, and the seed replays the draws.
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

describe('chaos', () => {
  it('every fault class at once: no loss, no QoS 2 duplicate, every will once, every session kept', async () => {
    const report = await chaos({ seed: 0x13c0ffee, durationS: 15, clients: 6 });
    expect(report.verdict.failures).toEqual([]);
  }, 180_000);
});
