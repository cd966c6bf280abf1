/**
 * In-memory SessionStore for unit tests: the same contract as the DynamoDB adapter, each operation
 * atomic (one turn of the event loop, as one conditional write is one request).
 */
import { systemClock, type Clock } from '../clock';
import { ClientIdInUseError, SessionTakenOverError } from '../errors';
import type {
  ClaimRequest,
  ClaimResult,
  DueWill,
  OwnerRef,
  OwnerUpdateResult,
  ReleaseRequest,
  ReleaseResult,
  SessionRecord,
  SessionStore,
  TakeWillResult,
  Will,
} from '../session-port';
import {
  claimIsNotOlder,
  isLive,
  offlineExpiresAt,
  onlineExpiresAt,
  previousWillOnClaim,
  sessionEpochOf,
  sweepShardOf,
  willOnRelease,
} from '../session-rules';
import type { MemoryStoreOptions } from './connection-store';

type Stored = SessionRecord & { sweepShard?: string };

export class MemorySessionStore implements SessionStore {
  private readonly items = new Map<string, Stored>();
  private readonly clock: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async get(clientId: string): Promise<SessionRecord | undefined> {
    const item = this.items.get(clientId);
    return isLive(item, this.clock()) ? publicCopy(item) : undefined;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const now = this.clock();
    const old = this.items.get(request.clientId);
    const live = isLive(old, now);
    if (live && request.assignedClientId) throw new ClientIdInUseError(request.clientId);
    if (live && !claimIsNotOlder(request, old)) {
      throw new SessionTakenOverError(request.clientId, request.connectionId);
    }
    const resume = live && !request.cleanStart && !request.assignedClientId;
    const record: Stored = withoutUndefined({
      clientId: request.clientId,
      connectionId: request.connectionId,
      ownerConnectionId: request.connectionId,
      ownerRequestTimeEpoch: request.requestTimeEpoch,
      principal: request.principal,
      protocolVersion: request.protocolVersion,
      sessionExpiryInterval: request.sessionExpiryInterval,
      sessionEpoch: resume ? old.sessionEpoch : sessionEpochOf(request.requestTimeEpoch, request.connectionId),
      createdAt: resume ? old.createdAt : now,
      will: request.will && structuredClone(request.will),
      expiresAt: onlineExpiresAt(now, request.sessionExpiryInterval),
    });
    this.items.set(request.clientId, record);
    const previousWill = previousWillOnClaim(old, !resume, now);
    return withoutUndefined({
      sessionPresent: resume,
      sessionEpoch: record.sessionEpoch,
      previousConnectionId: old?.connectionId !== request.connectionId ? old?.connectionId : undefined,
      previousWill: previousWill && structuredClone(previousWill),
    });
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    const now = request.now ?? this.clock();
    const old = this.owned(request);
    if (!old) return { outcome: 'not-owner' };
    const disposition = willOnRelease(old, now);
    const { connectionId: _owner, will: _will, ...rest } = old;
    const offline: Stored = { ...rest, disconnectedAt: now, expiresAt: offlineExpiresAt(now, old.sessionExpiryInterval) };
    if (disposition.action === 'deferred') {
      Object.assign(offline, { will: old.will, willDueAt: disposition.dueAt, sweepShard: sweepShardOf(old.clientId) });
    }
    this.items.set(old.clientId, offline);
    return { outcome: 'released', will: structuredClone(disposition), sessionEnded: !isLive(offline, now) };
  }

  async takeWill(owner: OwnerRef): Promise<TakeWillResult> {
    const old = this.owned(owner);
    if (!old) return { outcome: 'not-owner' };
    if (!old.will) return { outcome: 'no-will' };
    const { will, ...rest } = old;
    this.items.set(old.clientId, rest);
    return { outcome: 'taken', will: structuredClone(will) };
  }

  async discardWill(owner: OwnerRef): Promise<OwnerUpdateResult> {
    const old = this.owned(owner);
    if (!old) return 'not-owner';
    const { will: _will, ...rest } = old;
    this.items.set(old.clientId, rest);
    return 'updated';
  }

  async setExpiry(owner: OwnerRef & { sessionExpiryInterval: number }): Promise<OwnerUpdateResult> {
    const old = this.owned(owner);
    if (!old) return 'not-owner';
    const interval = owner.sessionExpiryInterval;
    this.items.set(old.clientId, { ...old, sessionExpiryInterval: interval, expiresAt: onlineExpiresAt(this.clock(), interval) });
    return 'updated';
  }

  async dueWills(query: { now?: number; limit: number }): Promise<DueWill[]> {
    const now = query.now ?? this.clock();
    const due: DueWill[] = [];
    for (const item of this.items.values()) {
      if (item.sweepShard !== undefined && item.willDueAt !== undefined && item.willDueAt <= now) {
        due.push({ clientId: item.clientId, willDueAt: item.willDueAt });
      }
    }
    return due.sort((a, b) => a.willDueAt - b.willDueAt).slice(0, query.limit);
  }

  async takeDueWill(clientId: string, now?: number): Promise<Will | undefined> {
    const at = now ?? this.clock();
    const old = this.items.get(clientId);
    if (!old?.will || old.connectionId !== undefined || old.willDueAt === undefined || old.willDueAt > at) return undefined;
    const { will, willDueAt: _due, sweepShard: _shard, ...rest } = old;
    this.items.set(clientId, rest);
    return structuredClone(will);
  }

  /** The item if `connectionId` owns it (the condition of every owner operation; expiry aside). */
  private owned(owner: OwnerRef): Stored | undefined {
    const item = this.items.get(owner.clientId);
    return item?.connectionId === owner.connectionId ? item : undefined;
  }
}

function publicCopy(item: Stored): SessionRecord {
  const { sweepShard: _shard, ...record } = item;
  return structuredClone(record);
}

/** Optional fields that are undefined are absent, as they are after a DynamoDB round trip. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
