/**
 * SessionStore on the `sessions` table. Every operation is one conditional UpdateItem (a deferred
 * will on release adds a second), and every race is settled by a condition: ownership by the
 * claim order (requestTimeEpoch, connectionId), wills by removing them in the write that hands
 * them out (ReturnValues ALL_OLD), so each will is handed out at most once.
 */
import type { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { ClientIdInUseError, SessionTakenOverError } from '../errors';
import { SWEEP_INDEX, TABLE_SCHEMAS } from '../schema';
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
  WillDisposition,
} from '../session-port';
import {
  claimIsNotOlder,
  isLive,
  offlineExpiresAt,
  onlineExpiresAt,
  previousWillOnClaim,
  sessionEpochOf,
  sweepShardOf,
  sweepShards,
  willOnRelease,
} from '../session-rules';
import { conditionally, nothing } from './conditionally';
import type { DynamoStoreOptions } from './connection-store';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
import { claimWrite, type ClaimMode } from './session-claim';
import { sessionCodec, sessionRecord, willCodec } from './session-codec';

const PK = TABLE_SCHEMAS.sessions.partitionKey.name;
/** A claim flips between 'create' and 'resume' only when another writer changed the item meanwhile. */
const MAX_CLAIM_ATTEMPTS = 4;

export class DynamoSessionStore implements SessionStore {
  private readonly clock: Clock;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
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
      (failure) => retryMode(request, mode, failure, attempt, now),
    );
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    const now = request.now ?? this.clock();
    const x = new ExpressionBuilder();
    const update =
      `SET ${x.name('disconnectedAt')} = ${x.value({ N: String(now) })}, ` +
      `${x.name('expiresAt')} = ${x.name('sessionExpiryInterval')} + ${x.value({ N: String(epochSeconds(now)) })} ` +
      `REMOVE ${['connectionId', 'will', 'willDueAt', 'sweepShard'].map((n) => x.name(n)).join(', ')}`;
    const written = await this.ownerWrite(request, x, update, 'ALL_OLD');
    const old = written === 'not-owner' ? undefined : written.old;
    if (old === undefined) return { outcome: 'not-owner' };
    let will = willOnRelease(old, now);
    if (will.action === 'deferred') will = await this.deferWill(old, will);
    const sessionEnded = !isLive({ ...old, expiresAt: offlineExpiresAt(now, old.sessionExpiryInterval) }, now);
    return { outcome: 'released', will, sessionEnded };
  }

  async takeWill(owner: OwnerRef): Promise<TakeWillResult> {
    const x = new ExpressionBuilder();
    const condition = `${x.name('connectionId')} = ${x.value({ S: owner.connectionId })} AND attribute_exists(${x.name('will')})`;
    return conditionally<TakeWillResult, TakeWillResult>(
      async () => {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(owner.clientId),
          UpdateExpression: `REMOVE ${x.name('will')}`,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return { outcome: 'taken', will: decode(Attributes)?.will as Will };
      },
      (failure) => (failure.Item?.connectionId?.S === owner.connectionId ? { outcome: 'no-will' } : { outcome: 'not-owner' }),
    );
  }

  async discardWill(owner: OwnerRef): Promise<OwnerUpdateResult> {
    const x = new ExpressionBuilder();
    return (await this.ownerWrite(owner, x, `REMOVE ${x.name('will')}`, 'NONE')) === 'not-owner' ? 'not-owner' : 'updated';
  }

  async setExpiry(owner: OwnerRef & { sessionExpiryInterval: number }): Promise<OwnerUpdateResult> {
    const x = new ExpressionBuilder();
    const interval = owner.sessionExpiryInterval;
    const update = x.set(sessionCodec.toAttributes({ sessionExpiryInterval: interval, expiresAt: onlineExpiresAt(this.clock(), interval) }));
    return (await this.ownerWrite(owner, x, update, 'NONE')) === 'not-owner' ? 'not-owner' : 'updated';
  }

  async dueWills(query: { now?: number; limit: number }): Promise<DueWill[]> {
    const now = query.now ?? this.clock();
    const pages = await Promise.all(sweepShards().map((shard) => this.dueInShard(shard, now, query.limit)));
    return pages
      .flat()
      .sort((a, b) => a.willDueAt - b.willDueAt)
      .slice(0, query.limit);
  }

  async takeDueWill(clientId: string, now?: number): Promise<Will | undefined> {
    const x = new ExpressionBuilder();
    const condition =
      `attribute_not_exists(${x.name('connectionId')}) AND attribute_exists(${x.name('will')}) ` +
      `AND ${x.name('willDueAt')} <= ${x.value({ N: String(now ?? this.clock()) })}`;
    return conditionally(
      async () => {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(clientId),
          UpdateExpression: `REMOVE ${['will', 'willDueAt', 'sweepShard'].map((n) => x.name(n)).join(', ')}`,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: 'ALL_OLD',
        });
        return decode(Attributes)?.will;
      },
      nothing, // taken by another sweeper, or the session was resumed
    );
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

  /**
   * Stores the will that release took, due at `dueAt`, unless the session was claimed in between:
   * then a resume cancelled it [MQTT-3.1.3-9] and a new session ended the old one (publish now).
   */
  private async deferWill(old: SessionRecord, will: WillDisposition & { action: 'deferred' }): Promise<WillDisposition> {
    const x = new ExpressionBuilder();
    const update = x.set({
      will: willCodec.encode(will.will),
      willDueAt: { N: String(will.dueAt) },
      sweepShard: { S: sweepShardOf(old.clientId) },
    });
    const condition =
      `attribute_not_exists(${x.name('connectionId')}) AND ${x.name('ownerConnectionId')} = ${x.value({ S: old.ownerConnectionId })} ` +
      `AND ${x.name('sessionEpoch')} = ${x.value({ S: old.sessionEpoch })}`;
    return conditionally<WillDisposition, WillDisposition>(
      async () => {
        await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(old.clientId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return will;
      },
      (failure) =>
        decode(failure.Item)?.sessionEpoch === old.sessionEpoch ? { action: 'none' } : { action: 'publish', will: will.will },
    );
  }

  /** An update conditional on `connectionId` owning the session, with the old item if asked for. */
  private async ownerWrite(
    owner: OwnerRef,
    x: ExpressionBuilder,
    update: string,
    returnValues: 'ALL_OLD' | 'NONE',
  ): Promise<{ old: SessionRecord | undefined } | 'not-owner'> {
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
        });
        return { old: decode(Attributes) };
      },
      () => 'not-owner' as const,
    );
  }

  private key(clientId: string): Item {
    return { [PK]: { S: clientId } };
  }
}

function decode(item: Item | undefined): SessionRecord | undefined {
  return item === undefined || Object.keys(item).length === 0 ? undefined : sessionRecord(sessionCodec.fromItem(item));
}

function claimResult(request: ClaimRequest, mode: ClaimMode, old: SessionRecord | undefined, now: number): ClaimResult {
  const resumed = mode === 'resume';
  const result: ClaimResult = {
    sessionPresent: resumed,
    sessionEpoch: resumed && old ? old.sessionEpoch : sessionEpochOf(request.requestTimeEpoch, request.connectionId),
  };
  if (old?.connectionId !== undefined && old.connectionId !== request.connectionId) {
    result.previousConnectionId = old.connectionId;
  }
  const previousWill = previousWillOnClaim(old, !resumed, now);
  if (previousWill) result.previousWill = previousWill;
  return result;
}

/**
 * After a claim's condition failed: the mode to try next, or the domain error. An assigned id
 * that a live session holds is in use; a fresh start, an older claim or too many flips lost.
 */
function retryMode(
  request: ClaimRequest,
  mode: ClaimMode,
  failure: ConditionalCheckFailedException,
  attempt: number,
  now: number,
): ClaimMode {
  const old = decode(failure.Item);
  const live = isLive(old, now);
  if (mode === 'assigned') throw new ClientIdInUseError(request.clientId, { cause: failure });
  if ((live && !claimIsNotOlder(request, old)) || mode === 'fresh' || attempt >= MAX_CLAIM_ATTEMPTS) {
    throw new SessionTakenOverError(request.clientId, request.connectionId, { cause: failure });
  }
  return live ? 'resume' : 'create';
}
