/**
 * In-memory SessionStore for unit tests: the same contract as the DynamoDB adapter, each operation
 * atomic (one turn of the event loop, as one conditional write is one request).
 */
import { systemClock, type Clock } from '../clock';
import { ClientIdInUseError, ClientIdOfAnotherPrincipalError, SessionTakenOverError } from '../errors';
import type {
  AbandonRequest,
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
  WillDisposition,
} from '../session-port';
import { DUE_WILL_LEASE_MS, endedFor, HELD_WILL_LEASE_MS, heldWillDisposition, isSameClaim, mayClaim, presentTo, samePrincipal } from '../session-reruns';
import {
  isLive,
  offlineExpiresAt,
  onlineExpiresAt,
  previousWillOnClaim,
  sessionEpochOf,
  sweepShardOf,
  willOnRelease,
} from '../session-rules';
import type { MemoryStoreOptions } from './connection-store';

/** `tw`: a due will a sweeper took and has not settled yet (DUE_WILL_LEASE_MS). */
type Stored = SessionRecord & { sweepShard?: string; tw?: Will };

export class MemorySessionStore implements SessionStore {
  private readonly items = new Map<string, Stored>();
  /** The answer of the claim that last took each session, for its rerun. */
  private readonly claims = new Map<string, ClaimResult>();
  /** Per client id, the wills release took and holds per connection until settleWill, with when. */
  private readonly held = new Map<string, Map<string, { will: Will | null; at: number }>>();
  /** Per client id, the connections whose DISCONNECT came after a takeover (`discardWill`). */
  private readonly disconnected = new Map<string, Set<string>>();
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
    const last = this.claims.get(request.clientId);
    if (live && old.connectionId === request.connectionId && isSameClaim(request, old) && last) return structuredClone(last);
    if (live && request.assignedClientId) throw new ClientIdInUseError(request.clientId);
    if (live && !samePrincipal(request, old)) throw new ClientIdOfAnotherPrincipalError(request.clientId);
    if (live && !mayClaim(request, old)) {
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
    const result = withoutUndefined({
      sessionPresent: presentTo(request, resume, old?.sessionEpoch),
      sessionEpoch: record.sessionEpoch,
      previousConnectionId: old?.connectionId !== request.connectionId ? old?.connectionId : undefined,
      previousWill: previousWill && structuredClone(previousWill),
    });
    this.claims.set(request.clientId, structuredClone(result));
    return result;
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    const now = request.now ?? this.clock();
    const old = this.owned(request);
    if (!old) return this.releasedBefore(request, now);
    const disposition = willOnRelease(old, now);
    const { connectionId: _owner, will: _will, ...rest } = old;
    const offline: Stored = { ...rest, disconnectedAt: now, expiresAt: offlineExpiresAt(now, old.sessionExpiryInterval) };
    const held = this.heldOf(old.clientId);
    if (disposition.action === 'deferred') {
      Object.assign(offline, { will: old.will, willDueAt: disposition.dueAt, sweepShard: sweepShardOf(old.clientId) });
    } else if (request.hasWill === true) {
      held.set(request.connectionId, { will: old.will ? structuredClone(old.will) : null, at: this.clock() });
    }
    this.items.set(old.clientId, offline);
    const willHeld = held.has(request.connectionId);
    return { outcome: 'released', will: structuredClone(disposition), sessionEnded: !isLive(offline, now), willHeld };
  }

  /** A release run again by the connection that released: what is left to do. */
  private releasedBefore(request: ReleaseRequest, now: number): ReleaseResult {
    const item = this.items.get(request.clientId);
    const held = this.heldOf(request.clientId).get(request.connectionId);
    const sessionEnded = endedFor(request.connectionId, item, now);
    if (held !== undefined) {
      if (request.serialized !== true && this.clock() < held.at + HELD_WILL_LEASE_MS) return { outcome: 'in-progress' };
      let will = heldWillDisposition(held.will, item, now);
      if (will.action === 'deferred') will = this.defer(request, item, will);
      return { outcome: 'released', will: structuredClone(will), sessionEnded, willHeld: this.heldOf(request.clientId).has(request.connectionId) };
    }
    if (item?.ownerConnectionId !== request.connectionId || item.connectionId !== undefined) return { outcome: 'not-owner' };
    return { outcome: 'released', will: { action: 'none' }, sessionEnded, willHeld: false };
  }

  /** Stores a held will as deferred unless a newer claim took the session (as the DynamoDB deferWill). */
  private defer(request: ReleaseRequest, item: Stored | undefined, will: WillDisposition & { action: 'deferred' }): WillDisposition {
    const epoch = request.sessionEpoch ?? item?.sessionEpoch;
    if (item && item.connectionId === undefined && item.ownerConnectionId === request.connectionId && item.sessionEpoch === epoch) {
      this.items.set(item.clientId, { ...item, will: will.will, willDueAt: will.dueAt, sweepShard: sweepShardOf(item.clientId) });
      this.heldOf(item.clientId).delete(request.connectionId);
      return will;
    }
    return item?.sessionEpoch === epoch ? { action: 'none' } : { action: 'publish', will: will.will };
  }

  async settleWill(owner: OwnerRef): Promise<void> {
    this.heldOf(owner.clientId).delete(owner.connectionId);
  }

  async holdWill(owner: OwnerRef, will: Will): Promise<'held' | 'discarded' | 'no-session'> {
    if (!this.items.has(owner.clientId)) return 'no-session';
    if (this.disconnected.get(owner.clientId)?.has(owner.connectionId) === true) return 'discarded';
    this.heldOf(owner.clientId).set(owner.connectionId, { will: structuredClone(will), at: this.clock() });
    return 'held';
  }

  async heldWill(owner: OwnerRef): Promise<Will | undefined> {
    const held = this.heldOf(owner.clientId).get(owner.connectionId)?.will;
    return held === null || held === undefined ? undefined : structuredClone(held);
  }

  async abandon(request: AbandonRequest): Promise<OwnerUpdateResult> {
    const now = request.now ?? this.clock();
    const old = this.owned(request);
    if (!old) return 'not-owner';
    const { connectionId: _owner, will: _will, willDueAt: _due, sweepShard: _shard, ...rest } = old;
    const offline: Stored = { ...rest, disconnectedAt: now };
    if (request.created) offline.expiresAt = offlineExpiresAt(now, old.sessionExpiryInterval);
    if (request.pendingWill) {
      Object.assign(offline, { will: structuredClone(request.pendingWill), willDueAt: now, sweepShard: sweepShardOf(old.clientId) });
    }
    this.items.set(old.clientId, offline);
    return 'updated';
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
    if (!old) {
      // Taken over while this DISCONNECT waited in the queue: a will held for it goes too.
      if (this.items.has(owner.clientId)) {
        this.heldOf(owner.clientId).delete(owner.connectionId);
        let marks = this.disconnected.get(owner.clientId);
        if (marks === undefined) this.disconnected.set(owner.clientId, (marks = new Set()));
        marks.add(owner.connectionId);
      }
      return 'not-owner';
    }
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
    const will = old?.will ?? old?.tw;
    if (!old || !will || old.connectionId !== undefined || old.willDueAt === undefined || old.willDueAt > at) return undefined;
    const { will: _will, ...rest } = old;
    this.items.set(clientId, { ...rest, tw: will, willDueAt: at + DUE_WILL_LEASE_MS });
    return structuredClone(will);
  }

  async settleDueWill(clientId: string): Promise<void> {
    const old = this.items.get(clientId);
    if (old?.tw === undefined) return;
    const { tw: _taken, willDueAt: _due, sweepShard: _shard, ...rest } = old;
    this.items.set(clientId, rest);
  }


  private heldOf(clientId: string): Map<string, { will: Will | null; at: number }> {
    let held = this.held.get(clientId);
    if (held === undefined) this.held.set(clientId, (held = new Map()));
    return held;
  }

  /** The item if `connectionId` owns it (the condition of every owner operation; expiry aside). */
  private owned(owner: OwnerRef): Stored | undefined {
    const item = this.items.get(owner.clientId);
    return item?.connectionId === owner.connectionId ? item : undefined;
  }
}

function publicCopy(item: Stored): SessionRecord {
  const { sweepShard: _shard, tw: _taken, ...record } = item;
  return structuredClone(record);
}

/** Optional fields that are undefined are absent, as they are after a DynamoDB round trip. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
