/**
 * The rules of the SessionStore that both adapters share (pure): ordering of claims, expiry, the
 * session epoch, the sweep shard and what happens to a will. See ./session-port for the reading of
 * the spec behind them.
 */
import { epochSeconds, isExpired } from './clock';
import type { SessionRecord, Will, WillDisposition } from './session-port';

/** How long an online session outlives its claim: past API Gateway's 2-hour connection limit. */
const OWNER_LEASE_SECONDS = 2 * 3600 + 10 * 60;

/** Partitions of the sparse `sweep` index; a power of two is not required. */
export const WILL_SWEEP_SHARDS = 4;

/** The sweep shard of a client id ('will#0'..): FNV-1a over UTF-16 code units. */
export function sweepShardOf(clientId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < clientId.length; i++) {
    hash ^= clientId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return sweepShards()[hash % WILL_SWEEP_SHARDS];
}

export function sweepShards(): string[] {
  return Array.from({ length: WILL_SWEEP_SHARDS }, (_, i) => `will#${i}`);
}

/** Unique per session start and sorted in claim order (requestTimeEpoch, then connection id). */
export function sessionEpochOf(requestTimeEpoch: number, connectionId: string): string {
  return `${String(requestTimeEpoch).padStart(15, '0')}/${connectionId}`;
}

/** expiresAt while a connection owns the session. */
export function onlineExpiresAt(nowMs: number, sessionExpiryInterval: number): number {
  return epochSeconds(nowMs) + OWNER_LEASE_SECONDS + sessionExpiryInterval;
}

/** expiresAt once the owner has gone (0: expired at once). */
export function offlineExpiresAt(nowMs: number, sessionExpiryInterval: number): number {
  return epochSeconds(nowMs) + sessionExpiryInterval;
}

/** True if a claim (t, c) may take a session last claimed by (owner t, owner c): not older, ties by id. */
export function claimIsNotOlder(
  claim: { requestTimeEpoch: number; connectionId: string },
  owner: Pick<SessionRecord, 'ownerRequestTimeEpoch' | 'ownerConnectionId'>,
): boolean {
  if (claim.requestTimeEpoch !== owner.ownerRequestTimeEpoch) return claim.requestTimeEpoch > owner.ownerRequestTimeEpoch;
  return claim.connectionId >= owner.ownerConnectionId;
}

export function isLive(record: SessionRecord | undefined, nowMs: number): record is SessionRecord {
  return record !== undefined && !isExpired(record.expiresAt, nowMs);
}

/** The v5 Will Delay Interval, seconds (0 when absent: v3/v4). */
function willDelaySeconds(will: Will): number {
  return will.properties?.willDelayInterval ?? 0;
}

/**
 * The will of the previous holder that a successful claim must hand out for publishing now, or
 * undefined (none, or cancelled by this claim [MQTT-3.1.3-9]). `newSession`: the claim started a
 * new session, so the old one ended.
 */
export function previousWillOnClaim(old: SessionRecord | undefined, newSession: boolean, nowMs: number): Will | undefined {
  if (old?.will === undefined) return undefined;
  if (newSession || !isLive(old, nowMs)) return old.will;
  if (old.connectionId !== undefined) {
    // takeover of an online session: its connection closes now
    return Math.min(willDelaySeconds(old.will), old.sessionExpiryInterval) === 0 ? old.will : undefined;
  }
  return old.willDueAt === undefined || old.willDueAt <= nowMs ? old.will : undefined;
}

/** What release does with the will it took from `old` (the item as it was before release). */
export function willOnRelease(old: SessionRecord, nowMs: number): WillDisposition {
  if (old.will === undefined) return { action: 'none' };
  const delay = Math.min(willDelaySeconds(old.will), old.sessionExpiryInterval);
  if (delay === 0 || !isLive(old, nowMs)) return { action: 'publish', will: old.will };
  return { action: 'deferred', will: old.will, dueAt: nowMs + delay * 1000 };
}
