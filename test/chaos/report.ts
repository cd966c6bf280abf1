/**
 * A chaos run's report as text: the counts of messages, the faults injected by kind, the losses
 * and duplicates, and every failed invariant with the seed that replays the draws.
 */
import type { ChaosReport } from './run';

export function formatReport(report: ChaosReport): string {
  const { verdict: v, faults: f, options: o } = report;
  const kinds = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  const lines = [
    `chaos run: seed ${o.seed}, ${o.durationS} s of faults, ${o.clients} clients, ${(report.elapsedMs / 1000).toFixed(1)} s in all`,
    `  messages: ${v.published} published, ${v.acknowledged} acknowledged, ${v.owed} copies owed, ${v.received} received`,
    `  faults: store {${kinds(f.store)}} in ${f.storeCalls} calls; posts {${kinds(f.posts)}} in ${f.postCalls} posts; $disconnect dropped ${f.droppedDisconnects}; reconnects forced ${f.reconnects.abrupt} abrupt, ${f.reconnects.graceful} with DISCONNECT; jitter < ${o.jitterMs} ms`,
    `  store faults by command: ${kinds(f.storeByCommand) || 'none'}`,
    `  losses: ${v.losses.length} (QoS 1 ${v.losses.filter((l) => l.qos === 1).length}, QoS 2 ${v.losses.filter((l) => l.qos === 2).length}); duplicates: QoS 2 ${v.qos2Duplicates.length}, QoS 1 ${v.qos1Duplicates} (allowed)`,
    `  wills: ${v.willsExpected} owed, ${v.willsLost.length} lost, ${v.willsDuplicated.length} duplicated, ${v.willsUnexpected.length} unexpected; sessions lost ${v.sessionsLost}; unacknowledged publishes ${v.unacknowledged}; dead letters ${report.deadLetters}`,
    `  publishes MQTT.js dropped unsent (parked behind its replay at a close) and sent again: ${report.journal.republished}`,
    v.failures.length === 0 ? '  invariants: all hold' : `  FAILED:\n${v.failures.map((x) => `    - ${x}`).join('\n')}`,
  ];
  if (v.losses.length > 0) lines.push(`  first losses: ${v.losses.slice(0, 8).map((l) => `${l.messageId}→${l.subscriber}`).join(', ')}`);
  if (v.qos2Duplicates.length > 0) lines.push(`  first QoS 2 duplicates: ${v.qos2Duplicates.slice(0, 8).map((l) => `${l.messageId}→${l.subscriber} ×${l.copies}`).join(', ')}`);
  const unacked = report.journal.publishes.filter((p) => p.ackedAt === undefined);
  if (unacked.length > 0) lines.push(`  unacknowledged: ${unacked.slice(0, 8).map((p) => `${p.id} (QoS ${p.qos}, +${p.startedAt - report.startedAt} ms)`).join(', ')}`);
  for (const key of [...v.willsUnexpected, ...v.willsDuplicated, ...v.willsLost].slice(0, 8)) {
    const [clientId, n] = key.split('#');
    const closed = report.journal.willConnections.find((c) => c.clientId === clientId && String(c.connection) === n);
    const times = report.journal.willsReceived.flatMap((w, i) => (w === key ? [report.journal.willTimes[i] - report.startedAt] : []));
    lines.push(`  will ${key}: connection ${closed ? `closed at +${(closed.closedAt ?? 0) - report.startedAt} ms${closed.graceful ? ' after DISCONNECT' : ''}${closed.acked ? '' : ' (no CONNACK)'}` : 'unknown'}; will received at ${times.map((t) => `+${t} ms`).join(', ') || 'never'}`);
  }
  return lines.join('\n');
}
