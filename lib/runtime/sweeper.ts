/**
 * The sweeper: a scheduled function that finds connections whose `$disconnect` never arrived
 * (API Gateway delivers it only on a best-effort basis) and runs the disconnect path for them.
 *
 * For each connection record it decides, cheapest proof first:
 * - the record's TTL has passed (older than API Gateway's 2-hour limit): gone;
 * - `@connections` GET answers 410: gone;
 * - an MQTT connection silent for more than 1.5 × its Keep Alive (API Gateway's LastActiveAt):
 *   the server closes it [MQTT-3.1.2-22] (3.1.1: [MQTT-3.1.2-24]);
 * - a WebSocket that sent no CONNECT within `connectTimeoutMs`: closed (MQTT 5 section 3.1.4:
 *   the server SHOULD close a connection that sends no CONNECT in a reasonable time).
 *
 * With ordered ingress a close it decides is queued in the connection's message group, behind the
 * frames the connection sent (./disconnect-path.ts `closeFound`): a DISCONNECT still queued is
 * handled first, and cancels the will. `closed` counts those queued closes.
 *
 * It reads the connections table with a paged Scan (never on the message path) and stops at its
 * time budget; the next run goes on. A sweep that stops before it finished (the budget, or an
 * error from the scan or the will index) counts the `SweepIncomplete` metric; one connection whose
 * check fails is logged and skipped, and does not make the sweep incomplete.
 */
import type { QueuedCloseCause } from '../ingress-wire';
import type { ConnectionRecord } from '../store/ports';
import { isExpired } from '../store/clock';
import { closeFound, runDisconnectPath, type DisconnectCause } from './disconnect-path';
import type { RuntimeDeps } from './types';

export interface SweepOptions {
  /** Stop starting new pages after this long. @default 50 s (the schedule runs every minute) */
  readonly budgetMs?: number;
  /** Close WebSockets that sent no CONNECT for this long. @default 120 s */
  readonly connectTimeoutMs?: number;
  /** Records per page. @default 100 */
  readonly pageSize?: number;
}

export interface SweepReport {
  checked: number;
  /** Delayed wills whose Will Delay Interval (or session) ended, published by this run. */
  willsPublished: number;
  closed: Record<Exclude<DisconnectCause, 'taken-over'>, number>;
  /** True when the budget ran out before the last page. */
  partial: boolean;
}

/** Why the sweeper closes a connection. */
type SweepVerdict = Exclude<QueuedCloseCause, 'taken-over'> | 'expired';

export async function sweep(deps: RuntimeDeps, options: SweepOptions = {}): Promise<SweepReport> {
  const start = deps.now();
  const budget = options.budgetMs ?? 50_000;
  const report: SweepReport = {
    checked: 0,
    willsPublished: 0,
    closed: { 'client-closed': 0, gone: 0, 'keep-alive-expired': 0, 'connect-timeout': 0, expired: 0 },
    partial: false,
  };
  // A sweep that stops early (its time budget, or an error that ends it) counts SweepIncomplete:
  // what it left waits for the next run, and a steady count means the sweeper does not keep up.
  let finished = false;
  try {
    let cursor: string | undefined;
    do {
      if (deps.now() - start > budget) {
        report.partial = true;
        break;
      }
      const page = await deps.scan.page(cursor, options.pageSize ?? 100);
      // One bad record (a failed GET, a failing disconnect path) must not stop the sweep.
      await Promise.all(page.records.map((record) => sweepRecord(deps, record, options, report)));
      cursor = page.cursor;
    } while (cursor !== undefined);
    report.willsPublished = await publishDueWills(deps);
    finished = !report.partial;
  } finally {
    if (!finished) deps.metrics.add('SweepIncomplete');
  }
  deps.log.info('sweep done', { ...report, ms: deps.now() - start });
  return report;
}

async function sweepRecord(deps: RuntimeDeps, record: ConnectionRecord, options: SweepOptions, report: SweepReport): Promise<void> {
  report.checked++;
  try {
    const verdict = await verdictFor(deps, record, options);
    if (verdict === undefined) return;
    await closeDead(deps, record, verdict);
    report.closed[verdict]++;
  } catch (error) {
    deps.log.error('sweep failed for a connection', { connectionId: record.connectionId, error });
  }
}

async function verdictFor(deps: RuntimeDeps, record: ConnectionRecord, options: SweepOptions): Promise<SweepVerdict | undefined> {
  const now = deps.now();
  if (isExpired(record.expiresAt, now)) return 'expired';
  const info = await deps.delivery.info(record.connectionId);
  if (info === undefined) return 'gone';
  if (record.status === 'mqtt' && (record.keepAlive ?? 0) > 0) {
    // [MQTT-3.1.2-22] (3.1.1: [MQTT-3.1.2-24]): nothing received for one and a half times the Keep Alive.
    const deadline = info.lastActiveAt.getTime() + 1500 * (record.keepAlive as number);
    if (now > deadline) return 'keep-alive-expired';
  }
  if (record.status === 'open' && now - record.connectedAt > (options.connectTimeoutMs ?? 120_000)) {
    return 'connect-timeout';
  }
  return undefined;
}

async function closeDead(deps: RuntimeDeps, record: ConnectionRecord, cause: SweepVerdict): Promise<void> {
  if (cause === 'keep-alive-expired' || cause === 'connect-timeout') {
    // Still connected at the gateway: close it. Its $disconnect may follow; the path is idempotent.
    await deps.delivery.close(record.connectionId);
  }
  // An expired record is past API Gateway's 2-hour limit: no frame of it can still be queued (and
  // the consumer's read would not find it). The others' closes go behind their queued frames.
  if (cause === 'expired') await runDisconnectPath(deps, record.connectionId, cause, record);
  else await closeFound(deps, record.connectionId, cause, record);
}

/**
 * Delayed wills that are due [MQTT-3.1.3-9]: found through the sessions' sparse sweep index (no
 * scan) and taken one by one with a conditional write, so two sweepers never both publish one, then
 * settled once published (a will whose sweeper died falls due again after a lease).
 */
async function publishDueWills(deps: RuntimeDeps): Promise<number> {
  let published = 0;
  // A few rounds at most: the index is eventually consistent, and the next run goes on.
  for (let round = 0; round < 10; round++) {
    const due = await deps.sessions.dueWills({ now: deps.now(), limit: 100 });
    for (const { clientId } of due) {
      try {
        const will = await deps.sessions.takeDueWill(clientId, deps.now());
        if (will === undefined) continue;
        await deps.publishWill(will, clientId);
        // Until settled, the will falls due again after the lease: a sweep that died here is redone.
        await deps.sessions.settleDueWill(clientId);
        published++;
      } catch (error) {
        deps.log.error('delayed will failed', { clientId, error });
      }
    }
    if (due.length < 100) break;
  }
  return published;
}
