/**
 * Rules shared by the SubscriptionStore adapters (lib/store/subscription-port.ts). Pure, no I/O.
 */
import type { EpochScope, SubscriptionRecord } from './subscription-port';

/**
 * Per client, only the records of its newest epoch (epochs sort in claim order,
 * lib/store/session-rules.ts): a record an older session left behind never takes the copy that a
 * newer session's record should get (routing makes one copy per client).
 */
export function newestEpochOnly(records: readonly SubscriptionRecord[]): SubscriptionRecord[] {
  const newest = new Map<string, string>();
  for (const r of records) {
    const seen = newest.get(r.clientId);
    if (seen === undefined || r.sessionEpoch > seen) newest.set(r.clientId, r.sessionEpoch);
  }
  return records.filter((r) => r.sessionEpoch === newest.get(r.clientId));
}

/** Whether `deleteAll(clientId, scope)` deletes a record of `sessionEpoch`. */
export function inScope(sessionEpoch: string, scope: EpochScope): boolean {
  return 'before' in scope ? sessionEpoch < scope.before : sessionEpoch <= scope.through;
}

/** The records without repeats of one (clientId, filter): the later one wins [MQTT-3.8.4-3]. */
export function lastPerFilter(records: readonly SubscriptionRecord[]): SubscriptionRecord[] {
  const byKey = new Map<string, SubscriptionRecord>();
  for (const r of records) byKey.set(`${r.clientId}\u0000${r.filter}`, r);
  return [...byKey.values()];
}
