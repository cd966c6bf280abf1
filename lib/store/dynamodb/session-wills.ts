/**
 * The writes of the `sessions` table that hand out or park a will, besides claim and release
 * (./session-store). Each recognises its own resend (issue 13):
 * - takeWill and takeDueWill take the will by moving it to `tw` under a fresh request token (`rq`),
 *   not by removing it: a resend, whose condition then fails, finds its token on the item and
 *   takes the will from `tw`. A plain REMOVE would leave the resend nothing to compare or return.
 *   The next claim drops `tw` and `rq`. A due will also keeps its sweep index entry, due again at
 *   the end of the sweeper's lease, until settleDueWill: a sweeper that died is followed by another;
 * - deferWill and settleWill set or remove the same values again: applying them twice is harmless.
 */
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';
import { isOwnWrite, newRequestToken, REQUEST_TOKEN } from './request-token';
import { TAKEN_WILL } from './session-claim';
import { willCodec } from './session-codec';
import type { OwnerRef, TakeWillResult, Will, WillDisposition } from '../session-port';
import { DUE_WILL_LEASE_MS } from '../session-reruns';
import { sweepShardOf } from '../session-rules';

/** The attribute in which release holds a connection's will until its disconnect path settles it. */
export function heldWillName(connectionId: string): string {
  return `rw#${connectionId}`;
}

/** The attribute with the time (store clock, epoch ms) at which release took the held will. */
export function heldAtName(connectionId: string): string {
  return `ra#${connectionId}`;
}

/** The attribute that marks a connection whose DISCONNECT was handled after a takeover (SessionStore `discardWill`). */
export function disconnectedName(connectionId: string): string {
  return `dn#${connectionId}`;
}

/** A held will as stored: NULL when the connection's will was gone already. */
export function heldWillOf(item: Item | undefined, connectionId: string): Will | null | undefined {
  const attribute = item?.[heldWillName(connectionId)];
  if (attribute === undefined) return undefined;
  return attribute.NULL ? null : (willCodec.decode(attribute) ?? null);
}

export class SessionWills {
  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    private readonly key: (clientId: string) => Item,
  ) {}

  async takeWill(owner: OwnerRef): Promise<TakeWillResult> {
    const x = new ExpressionBuilder();
    const token = newRequestToken();
    const condition = `${x.name('connectionId')} = ${x.value({ S: owner.connectionId })} AND attribute_exists(${x.name('will')})`;
    return conditionally<TakeWillResult, TakeWillResult>(
      async () => {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(owner.clientId),
          UpdateExpression: this.take(x, token, []),
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return { outcome: 'taken', will: takenWill(Attributes) as Will };
      },
      (failure) => {
        if (isOwnWrite(failure, token) && takenWill(failure.Item)) return { outcome: 'taken', will: takenWill(failure.Item) as Will };
        return failure.Item?.connectionId?.S === owner.connectionId ? { outcome: 'no-will' } : { outcome: 'not-owner' };
      },
    );
  }

  /**
   * Takes a due will for a sweeper: the will moves to `tw` and `willDueAt` becomes the end of the
   * sweeper's lease, so the sweep index lists it again if the sweeper dies before settleDueWill.
   * A will taken before whose lease passed is taken again from `tw` (a second write, only then).
   */
  async takeDueWill(clientId: string, now: number): Promise<Will | undefined> {
    const token = newRequestToken();
    const first = await this.takeDue(clientId, now, token, 'will');
    return first === 'retake' ? ((await this.takeDue(clientId, now, token, 'taken')) as Will | undefined) : first;
  }

  /** One take of a due will from `will`, or again from `tw` after a lease; 'retake' says try that. */
  private takeDue(clientId: string, now: number, token: string, from: 'will' | 'taken'): Promise<Will | undefined | 'retake'> {
    const x = new ExpressionBuilder();
    const [will, taken, due] = [x.name('will'), x.name(TAKEN_WILL), x.name('willDueAt')];
    const lease = `${due} = ${x.value({ N: String(now + DUE_WILL_LEASE_MS) })}, ${x.name(REQUEST_TOKEN)} = ${x.value({ S: token })}`;
    const update = from === 'will' ? `SET ${taken} = ${will}, ${lease} REMOVE ${will}` : `SET ${lease}`;
    const condition =
      `attribute_not_exists(${x.name('connectionId')}) AND ${due} <= ${x.value({ N: String(now) })} AND ` +
      (from === 'will' ? `attribute_exists(${will})` : `attribute_exists(${taken}) AND attribute_not_exists(${will})`);
    return conditionally(
      async () => {
        const { Attributes } = await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(clientId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return takenWill(Attributes);
      },
      // Taken by this very request (its resend); a lease that passed; or another sweeper took it,
      // or the session was resumed: nothing.
      (failure) => {
        if (isOwnWrite(failure, token)) return takenWill(failure.Item);
        const item = failure.Item;
        const leaseOver = item?.[TAKEN_WILL] !== undefined && item.will === undefined && item.connectionId === undefined;
        return from === 'will' && leaseOver && Number(item?.willDueAt?.N ?? Infinity) <= now ? 'retake' : undefined;
      },
    );
  }

  /** The due will a sweeper took was published: removed with its lease and index entry. */
  async settleDueWill(clientId: string): Promise<void> {
    const x = new ExpressionBuilder();
    await conditionally(
      () =>
        this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(clientId),
          UpdateExpression: `REMOVE ${[TAKEN_WILL, 'willDueAt', 'sweepShard'].map((n) => x.name(n)).join(', ')}`,
          ConditionExpression: `attribute_exists(${x.name(TAKEN_WILL)}) AND attribute_not_exists(${x.name('will')})`,
          ...x.attributes(),
        }),
      nothing,
    );
  }

  /**
   * Stores the will that release took, due at `dueAt`, unless the session was claimed in between:
   * then a resume cancelled it [MQTT-3.1.3-9] and a new session ended the old one (publish now).
   * Removes the connection's held will in the same write. `stored`: the will is now the sweeper's.
   */
  async deferWill(
    clientId: string,
    connectionId: string,
    epoch: string,
    will: WillDisposition & { action: 'deferred' },
  ): Promise<{ will: WillDisposition; stored: boolean }> {
    const x = new ExpressionBuilder();
    const update =
      `${x.set({ will: willCodec.encode(will.will), willDueAt: { N: String(will.dueAt) }, sweepShard: { S: sweepShardOf(clientId) } })} ` +
      `REMOVE ${x.name(heldWillName(connectionId))}, ${x.name(heldAtName(connectionId))}`;
    const condition =
      `attribute_not_exists(${x.name('connectionId')}) AND ${x.name('ownerConnectionId')} = ${x.value({ S: connectionId })} ` +
      `AND ${x.name('sessionEpoch')} = ${x.value({ S: epoch })}`;
    return conditionally(
      async () => {
        await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(clientId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return { will: will as WillDisposition, stored: true };
      },
      (failure) => ({
        will: failure.Item?.sessionEpoch?.S === epoch ? { action: 'none' } : { action: 'publish', will: will.will },
        stored: false,
      }),
    );
  }

  /**
   * Holds a will for a connection taken over while its close was queued (SessionStore `holdWill`):
   * one conditional UpdateItem, refused when the connection's DISCONNECT was handled already.
   */
  async holdWill(owner: OwnerRef, will: Will, now: number): Promise<'held' | 'discarded' | 'no-session'> {
    const x = new ExpressionBuilder();
    return conditionally(
      async () => {
        await this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(owner.clientId),
          UpdateExpression: x.set({ [heldWillName(owner.connectionId)]: willCodec.encode(will), [heldAtName(owner.connectionId)]: { N: String(now) } }),
          ConditionExpression: `attribute_exists(${x.name('clientId')}) AND attribute_not_exists(${x.name(disconnectedName(owner.connectionId))})`,
          ...x.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return 'held' as const;
      },
      (failure) => (failure.Item === undefined ? 'no-session' : 'discarded'),
    );
  }

  /**
   * A DISCONNECT of a connection that no longer owns the session: its held will goes, and a mark
   * keeps a later holdWill from holding one (idempotent; never creates an item).
   */
  async discardHeld(owner: OwnerRef, now: number): Promise<void> {
    await this.updateIfExists(owner, (x) =>
      `SET ${x.name(disconnectedName(owner.connectionId))} = ${x.value({ N: String(now) })} ` +
      `REMOVE ${x.name(heldWillName(owner.connectionId))}, ${x.name(heldAtName(owner.connectionId))}`,
    );
  }

  /** Forgets the will release held for the connection (idempotent; never creates an item). */
  async settleWill(owner: OwnerRef): Promise<void> {
    await this.updateIfExists(owner, (x) => `REMOVE ${x.name(heldWillName(owner.connectionId))}, ${x.name(heldAtName(owner.connectionId))}`);
  }

  /** One UpdateItem of the client's session item, only if it exists (a missing item is left missing). */
  private async updateIfExists(owner: OwnerRef, update: (x: ExpressionBuilder) => string): Promise<void> {
    const x = new ExpressionBuilder();
    const expression = update(x);
    await conditionally(
      () =>
        this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(owner.clientId),
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(${x.name('clientId')})`,
          ...x.attributes(),
        }),
      nothing,
    );
  }

  /** `SET tw = will, rq = :token REMOVE will, ...` */
  private take(x: ExpressionBuilder, token: string, alsoRemoved: string[]): string {
    const will = x.name('will');
    const set = `SET ${x.name(TAKEN_WILL)} = ${will}, ${x.name(REQUEST_TOKEN)} = ${x.value({ S: token })}`;
    return `${set} REMOVE ${[will, ...alsoRemoved.map((n) => x.name(n))].join(', ')}`;
  }
}

function takenWill(item: Item | undefined): Will | undefined {
  const attribute = item?.[TAKEN_WILL];
  return attribute === undefined ? undefined : willCodec.decode(attribute);
}
