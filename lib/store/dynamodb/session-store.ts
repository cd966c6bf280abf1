/**
 * SessionStore on the `sessions` table. Every operation is one conditional UpdateItem (a deferred
 * will on release adds a second), and every race is settled by a condition: ownership by the
 * claim order (requestTimeEpoch, connectionId) and the principal, wills by taking them in the
 * write that hands them out, so each will is handed out at most once.
 *
 * Every conditional write recognises its own resend (issue 13; ../session-port "Retries and
 * reruns"): a failed condition asks for the old item (ReturnValuesOnConditionCheckFailure
 * ALL_OLD), and the item tells "this very claim / release / take was applied" from a lost race.
 * A release keeps the will it took under `rw#<connectionId>` until the disconnect path settles it.
 */
import { epochSeconds, systemClock, type Clock } from '../clock';
import { SWEEP_INDEX, TABLE_SCHEMAS } from '../schema';
import { endedFor, heldWillDisposition, HELD_WILL_LEASE_MS } from '../session-reruns';
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
} from '../session-port';
import { isLive, offlineExpiresAt, onlineExpiresAt, sweepShardOf, sweepShards, willOnRelease } from '../session-rules';
import { conditionally } from './conditionally';
import type { DynamoStoreOptions } from './connection-store';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
import { claimWrite, FOUND, type ClaimMode } from './session-claim';
import { afterFailedClaim, claimResult } from './session-claim-result';
import { decodeSession, sessionCodec, willCodec } from './session-codec';
import { heldAtName, heldWillOf, heldWillName, SessionWills } from './session-wills';
import { newRequestToken, REQUEST_TOKEN, tokenOf } from './request-token';

const PK = TABLE_SCHEMAS.sessions.partitionKey.name;

export class DynamoSessionStore implements SessionStore {
  private readonly clock: Clock;
  private readonly wills: SessionWills;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.wills = new SessionWills(db, tableName, (clientId) => this.key(clientId));
  }

  async get(clientId: string): Promise<SessionRecord | undefined> {
    const { Item } = await this.db.getItem({ TableName: this.tableName, Key: this.key(clientId), ConsistentRead: true });
    const item = decode(Item);
    return isLive(item, this.clock()) ? item : undefined;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const now = this.clock();
    let mode: ClaimMode = request.assignedClientId
      ? 'assigned'
      : request.cleanStart
        ? 'fresh'
        : request.hint === 'absent'
          ? 'create'
          : 'resume';
    for (let attempt = 1; ; attempt++) {
      const result = await this.claimAs(request, mode, attempt, now);
      if (typeof result !== 'string') return result;
      mode = result;
    }
  }

  /** One claim write in `mode`: the result, or the mode to try next (see retryMode). */
  private claimAs(request: ClaimRequest, mode: ClaimMode, attempt: number, now: number): Promise<ClaimResult | ClaimMode> {
    return conditionally(
      async () => {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(request.clientId),
          ...claimWrite(request, mode, now),
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return claimResult(request, mode, decode(Attributes), now);
      },
      (failure) => afterFailedClaim(request, mode, failure, attempt, now),
    );
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    const now = request.now ?? this.clock();
    const x = new ExpressionBuilder();
    const token = newRequestToken();
    // Placeholders are made only when used: DynamoDB refuses unused ones.
    const hold = () =>
      `, ${x.name(heldWillName(request.connectionId))} = if_not_exists(${x.name('will')}, ${x.value({ NULL: true })}), ` +
      `${x.name(heldAtName(request.connectionId))} = ${x.value({ N: String(this.clock()) })}`;
    const held = `, ${x.name(REQUEST_TOKEN)} = ${x.value({ S: token })}${request.hasWill === true ? hold() : ''}`;
    const removed = ['connectionId', 'will', 'willDueAt', 'sweepShard', ...Object.keys(FOUND)];
    const update =
      `SET ${x.name('disconnectedAt')} = ${x.value({ N: String(now) })}, ` +
      `${x.name('expiresAt')} = ${x.name('sessionExpiryInterval')} + ${x.value({ N: String(epochSeconds(now)) })}${held} ` +
      `REMOVE ${removed.map((n) => x.name(n)).join(', ')}`;
    const written = await this.ownerWrite(request, x, update, 'ALL_OLD');
    if ('failed' in written) return this.releasedBefore(request, written.failed, now, token);
    const old = written.old as SessionRecord;
    let will = willOnRelease(old, now);
    let willHeld = request.hasWill === true;
    if (will.action === 'deferred') {
      const deferred = await this.wills.deferWill(old.clientId, request.connectionId, old.sessionEpoch, will);
      will = deferred.will;
      willHeld &&= !deferred.stored;
    }
    const sessionEnded = !isLive({ ...old, expiresAt: offlineExpiresAt(now, old.sessionExpiryInterval) }, now);
    return { outcome: 'released', will, sessionEnded, willHeld };
  }

  /**
   * A release whose condition failed: run again by the connection that released (its resend, or a
   * rerun of its disconnect path), it answers what is left to do: the will it holds, if any, and
   * whether the session ended. Otherwise the connection does not own the session.
   */
  private async releasedBefore(request: ReleaseRequest, item: Item | undefined, now: number, token: string): Promise<ReleaseResult> {
    const session = decode(item);
    const sessionEnded = endedFor(request.connectionId, session, now);
    const held = heldWillOf(item, request.connectionId);
    if (held !== undefined) {
      // Another run released moments ago and is publishing: leave it the will (not this write's resend).
      const at = Number(item?.[heldAtName(request.connectionId)]?.N ?? 0);
      if (request.serialized !== true && tokenOf(item) !== token && this.clock() < at + HELD_WILL_LEASE_MS) return { outcome: 'in-progress' };
      let will = heldWillDisposition(held, session, now);
      let willHeld = true;
      if (will.action === 'deferred') {
        const epoch = request.sessionEpoch ?? session?.sessionEpoch ?? '';
        const deferred = await this.wills.deferWill(request.clientId, request.connectionId, epoch, will);
        will = deferred.will;
        willHeld = !deferred.stored;
      }
      return { outcome: 'released', will, sessionEnded, willHeld };
    }
    if (session?.ownerConnectionId !== request.connectionId || session.connectionId !== undefined) return { outcome: 'not-owner' };
    return { outcome: 'released', will: { action: 'none' }, sessionEnded, willHeld: false };
  }

  settleWill(owner: OwnerRef): Promise<void> {
    return this.wills.settleWill(owner);
  }

  async abandon(request: AbandonRequest): Promise<OwnerUpdateResult> {
    const now = request.now ?? this.clock();
    const x = new ExpressionBuilder();
    const sets = [`${x.name('disconnectedAt')} = ${x.value({ N: String(now) })}`];
    if (request.created) sets.push(`${x.name('expiresAt')} = ${x.name('sessionExpiryInterval')} + ${x.value({ N: String(epochSeconds(now)) })}`);
    const removed = ['connectionId', ...Object.keys(FOUND)];
    if (request.pendingWill) {
      const shard = sweepShardOf(request.clientId);
      sets.push(`${x.name('will')} = ${x.value(willCodec.encode(request.pendingWill))}`, `${x.name('willDueAt')} = ${x.value({ N: String(now) })}`);
      sets.push(`${x.name('sweepShard')} = ${x.value({ S: shard })}`);
    } else {
      removed.push('will', 'willDueAt', 'sweepShard');
    }
    const update = `SET ${sets.join(', ')} REMOVE ${removed.map((n) => x.name(n)).join(', ')}`;
    const written = await this.ownerWrite(request, x, update, 'NONE');
    if (!('failed' in written)) return 'updated';
    // Its own resend: the session is offline and this connection's claim was the last one.
    const session = decode(written.failed);
    return session?.ownerConnectionId === request.connectionId && session.connectionId === undefined ? 'updated' : 'not-owner';
  }

  takeWill(owner: OwnerRef): Promise<TakeWillResult> {
    return this.wills.takeWill(owner);
  }

  async discardWill(owner: OwnerRef): Promise<OwnerUpdateResult> {
    const x = new ExpressionBuilder();
    // A resend finds the same owner and removes nothing more: the write is idempotent as it is.
    if (!('failed' in (await this.ownerWrite(owner, x, `REMOVE ${x.name('will')}`, 'NONE')))) return 'updated';
    // Taken over while this DISCONNECT waited in the queue: a will held for it goes too.
    await this.wills.discardHeld(owner, this.clock());
    return 'not-owner';
  }

  holdWill(owner: OwnerRef, will: Will): Promise<'held' | 'discarded' | 'no-session'> {
    return this.wills.holdWill(owner, will, this.clock());
  }

  async heldWill(owner: OwnerRef): Promise<Will | undefined> {
    const { Item } = await this.db.getItem({ TableName: this.tableName, Key: this.key(owner.clientId), ConsistentRead: true });
    return heldWillOf(Item, owner.connectionId) ?? undefined;
  }

  async setExpiry(owner: OwnerRef & { sessionExpiryInterval: number }): Promise<OwnerUpdateResult> {
    const x = new ExpressionBuilder();
    const interval = owner.sessionExpiryInterval;
    const update = x.set(sessionCodec.toAttributes({ sessionExpiryInterval: interval, expiresAt: onlineExpiresAt(this.clock(), interval) }));
    return 'failed' in (await this.ownerWrite(owner, x, update, 'NONE')) ? 'not-owner' : 'updated';
  }

  async dueWills(query: { now?: number; limit: number }): Promise<DueWill[]> {
    const now = query.now ?? this.clock();
    const pages = await Promise.all(sweepShards().map((shard) => this.dueInShard(shard, now, query.limit)));
    return pages
      .flat()
      .sort((a, b) => a.willDueAt - b.willDueAt)
      .slice(0, query.limit);
  }

  takeDueWill(clientId: string, now?: number): Promise<Will | undefined> {
    return this.wills.takeDueWill(clientId, now ?? this.clock());
  }

  settleDueWill(clientId: string): Promise<void> {
    return this.wills.settleDueWill(clientId);
  }

  private async dueInShard(shard: string, now: number, limit: number): Promise<DueWill[]> {
    const x = new ExpressionBuilder();
    const { Items } = await this.db.query({
      TableName: this.tableName,
      IndexName: SWEEP_INDEX,
      KeyConditionExpression: `${x.name('sweepShard')} = ${x.value({ S: shard })} AND ${x.name('willDueAt')} <= ${x.value({ N: String(now) })}`,
      ...x.attributes(),
      Limit: limit,
    });
    return (Items ?? []).map((item) => ({ clientId: item[PK]?.S ?? '', willDueAt: Number(item.willDueAt?.N) }));
  }

  /** An update conditional on `connectionId` owning the session: the old item, or the failed condition's. */
  private async ownerWrite(
    owner: OwnerRef,
    x: ExpressionBuilder,
    update: string,
    returnValues: 'ALL_OLD' | 'NONE',
  ): Promise<{ old: SessionRecord | undefined } | { failed: Item | undefined }> {
    const condition = `${x.name('connectionId')} = ${x.value({ S: owner.connectionId })}`;
    return conditionally(
      async () => {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(owner.clientId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: returnValues,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return { old: decode(Attributes) };
      },
      (failure) => ({ failed: failure.Item }),
    );
  }

  private key(clientId: string): Item {
    return { [PK]: { S: clientId } };
  }
}

const decode = decodeSession;
