/**
 * AuthStore on the `auth` table (PK `pk` = `user#{name}` | `group#{name}`, SK `profile` |
 * `rule#{id}`; item layout in ./auth-codec).
 *
 * Requests, each item well under 1 KB:
 * - getUser / getGroup: one strongly consistent Query of the partition (1 RRU while it holds
 *   under 4 KB), so a deleted user or a changed password takes effect at the next CONNECT;
 *   groupRules: one such Query per group, in parallel;
 * - createUser / createGroup: one PutItem, `attribute_not_exists(pk)`, else PrincipalExistsError;
 * - updateUser: one UpdateItem, `attribute_exists(pk)`, else PrincipalNotFoundError;
 * - deleteUser / deleteGroup: a keys-only Query of the partition, then BatchWriteItem deletes;
 * - addRule: a TransactWriteItems of a ConditionCheck that the owner's profile exists and the Put
 *   of the rule (2 x 2 WRU); for the built-in group `anonymous`, a plain PutItem. A rule with the
 *   id of a stored one replaces it;
 * - removeRule: one DeleteItem, `attribute_exists(pk)`;
 * - listUsers / listGroups / listRules(): a paged Scan with a filter (the admin CLI only; the
 *   table holds a few items per principal).
 *
 * The built-in group `anonymous` always exists: without a profile it reads as
 * `{ name: 'anonymous', createdAt: 0 }`.
 */
import { TransactionCanceledException, type WriteRequest } from '@aws-sdk/client-dynamodb';
import {
  ANONYMOUS_GROUP,
  type AclRule,
  type GroupRecord,
  type PrincipalKind,
  type RuleOwner,
  type UserRecord,
} from '../../auth/types';
import type { AuthStore, PrincipalWithRules } from '../auth-port';
import { PrincipalExistsError, PrincipalNotFoundError, StoreError } from '../errors';
import {
  PK,
  PROFILE_SK,
  RULE_SK_PREFIX,
  SK,
  fromGroupItem,
  fromPartition,
  fromRuleItem,
  fromUserItem,
  groupItem,
  groupsAttribute,
  principalKey,
  profileKey,
  ruleItem,
  ruleKey,
  userItem,
} from './auth-codec';
import { conditionally } from './conditionally';
import { ExpressionBuilder } from './expressions';
import type { Item } from './marshal';
import type { MeteredDynamoDb } from './metered';

/** BatchWriteItem takes at most 25 requests. */
const MAX_ATTEMPTS = 6;

/** The record the built-in group has until a profile is stored for it. */
const BUILT_IN_ANONYMOUS_GROUP: GroupRecord = { name: ANONYMOUS_GROUP, createdAt: 0 };

/** Throttling outlasted the retries of a batch delete. */
export class AuthStoreRetryError extends StoreError {
  constructor(readonly principal: string) {
    super(`deleting ${principal} gave up after ${MAX_ATTEMPTS} attempts`);
  }
}

export class DynamoAuthStore implements AuthStore {
  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
  ) {}

  async getUser(name: string): Promise<PrincipalWithRules<UserRecord> | undefined> {
    const { profile, rules } = fromPartition('user', await this.partition('user', name), fromUserItem);
    return profile === undefined ? undefined : { record: profile, rules };
  }

  async createUser(user: UserRecord): Promise<void> {
    await this.create('user', user.name, userItem({ ...user, groups: sortedGroups(user.groups) }));
  }

  async updateUser(
    name: string,
    changes: { passwordHash?: string | null; groups?: readonly string[] },
  ): Promise<UserRecord> {
    const x = new ExpressionBuilder();
    const set = [`${x.name('name')} = ${x.value({ S: name })}`];
    const remove: string[] = [];
    if (changes.passwordHash === null) {
      remove.push(x.name('passwordHash'));
    } else if (changes.passwordHash !== undefined) {
      set.push(`${x.name('passwordHash')} = ${x.value({ S: changes.passwordHash })}`);
    }
    if (changes.groups !== undefined) {
      set.push(`${x.name('groups')} = ${x.value(groupsAttribute(sortedGroups(changes.groups)))}`);
    }
    const { Attributes } = await conditionally(
      () =>
        this.db.updateItem({
          TableName: this.tableName,
          Key: profileKey('user', name),
          UpdateExpression: `SET ${set.join(', ')}` + (remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''),
          ConditionExpression: `attribute_exists(${x.name(PK)})`,
          ReturnValues: 'ALL_NEW',
          ...x.attributes(),
        }),
      (failure) => {
        throw new PrincipalNotFoundError('user', name, { cause: failure });
      },
    );
    return fromUserItem(Attributes ?? {});
  }

  async deleteUser(name: string): Promise<boolean> {
    const keys = await this.deletePartition('user', name);
    return keys.some((key) => key[SK]?.S === PROFILE_SK);
  }

  async listUsers(): Promise<UserRecord[]> {
    const items = await this.scan(PROFILE_SK, 'user#');
    return items.map(fromUserItem).sort(byName);
  }

  async getGroup(name: string): Promise<PrincipalWithRules<GroupRecord> | undefined> {
    const { profile, rules } = fromPartition('group', await this.partition('group', name), fromGroupItem);
    const record = profile ?? (name === ANONYMOUS_GROUP ? { ...BUILT_IN_ANONYMOUS_GROUP } : undefined);
    return record === undefined ? undefined : { record, rules };
  }

  async groupRules(names: readonly string[]): Promise<Map<string, readonly AclRule[]>> {
    const unique = [...new Set(names)];
    const groups = await Promise.all(unique.map((name) => this.getGroup(name)));
    const found = new Map<string, readonly AclRule[]>();
    unique.forEach((name, i) => {
      const group = groups[i];
      if (group !== undefined) found.set(name, group.rules);
    });
    return found;
  }

  async createGroup(group: GroupRecord): Promise<void> {
    await this.create('group', group.name, groupItem(group));
  }

  async deleteGroup(name: string): Promise<boolean> {
    const keys = await this.deletePartition('group', name);
    // the built-in group "existed" if it had anything to delete
    return keys.some((key) => key[SK]?.S === PROFILE_SK) || (name === ANONYMOUS_GROUP && keys.length > 0);
  }

  async listGroups(): Promise<GroupRecord[]> {
    const groups = (await this.scan(PROFILE_SK, 'group#')).map(fromGroupItem);
    if (!groups.some((g) => g.name === ANONYMOUS_GROUP)) groups.push({ ...BUILT_IN_ANONYMOUS_GROUP });
    return groups.sort(byName);
  }

  async addRule(owner: RuleOwner, rule: AclRule): Promise<void> {
    const Item = ruleItem(owner, rule);
    if (owner.kind === 'group' && owner.name === ANONYMOUS_GROUP) {
      await this.db.putItem({ TableName: this.tableName, Item });
      return;
    }
    const x = new ExpressionBuilder();
    try {
      await this.db.transactWriteItems({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: this.tableName,
              Key: profileKey(owner.kind, owner.name),
              ConditionExpression: `attribute_exists(${x.name(PK)})`,
              ...x.attributes(),
            },
          },
          { Put: { TableName: this.tableName, Item } },
        ],
      });
    } catch (error) {
      const ownerMissing =
        error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed';
      if (ownerMissing) throw new PrincipalNotFoundError(owner.kind, owner.name, { cause: error });
      throw error;
    }
  }

  async removeRule(owner: RuleOwner, id: string): Promise<boolean> {
    const x = new ExpressionBuilder();
    return conditionally(
      async () => {
        await this.db.deleteItem({
          TableName: this.tableName,
          Key: ruleKey(owner, id),
          ConditionExpression: `attribute_exists(${x.name(PK)})`,
          ...x.attributes(),
        });
        return true;
      },
      () => false,
    );
  }

  async listRules(owner?: RuleOwner): Promise<Array<{ owner: RuleOwner; rule: AclRule }>> {
    let items: Item[];
    if (owner === undefined) {
      items = await this.scan(RULE_SK_PREFIX);
    } else {
      const x = new ExpressionBuilder();
      items = await this.db.queryAll({
        TableName: this.tableName,
        KeyConditionExpression:
          `${x.name(PK)} = ${x.value({ S: principalKey(owner.kind, owner.name) })} AND ` +
          `begins_with(${x.name(SK)}, ${x.value({ S: RULE_SK_PREFIX })})`,
        ConsistentRead: true,
        ...x.attributes(),
      });
    }
    return items
      .map(fromRuleItem)
      .sort(
        (a, b) =>
          compare(a.owner.kind, b.owner.kind) || compare(a.owner.name, b.owner.name) || compare(a.rule.id, b.rule.id),
      );
  }

  /** A conditional PutItem of a new profile: PrincipalExistsError if there is one. */
  private async create(kind: PrincipalKind, name: string, Item: Item): Promise<void> {
    const x = new ExpressionBuilder();
    await conditionally(
      () =>
        this.db.putItem({
          TableName: this.tableName,
          Item,
          ConditionExpression: `attribute_not_exists(${x.name(PK)})`,
          ...x.attributes(),
        }),
      (failure) => {
        throw new PrincipalExistsError(kind, name, { cause: failure });
      },
    );
  }

  /** Every item of a principal's partition (strongly consistent; paged). */
  private partition(kind: PrincipalKind, name: string, keysOnly = false): Promise<Item[]> {
    const x = new ExpressionBuilder();
    return this.db.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: `${x.name(PK)} = ${x.value({ S: principalKey(kind, name) })}`,
      ConsistentRead: true,
      ...(keysOnly && { ProjectionExpression: `${x.name(PK)}, ${x.name(SK)}` }),
      ...x.attributes(),
    });
  }

  /** Deletes every item of a partition, 25 per BatchWriteItem; returns the keys it deleted. */
  private async deletePartition(kind: PrincipalKind, name: string): Promise<Item[]> {
    const keys = await this.partition(kind, name, true);
    const requests: WriteRequest[] = keys.map((key) => ({
      DeleteRequest: { Key: { [PK]: key[PK], [SK]: key[SK] } },
    }));
    if (!(await this.db.batchWriteAll(this.tableName, requests, MAX_ATTEMPTS))) throw new AuthStoreRetryError(principalKey(kind, name));
    return keys;
  }

  /**
   * Every item whose sort key is (or, for `rule#`, begins with) `sk` and, if given, whose
   * partition key begins with `pkPrefix`: a paged Scan (eventually consistent).
   */
  private async scan(sk: string, pkPrefix?: string): Promise<Item[]> {
    const x = new ExpressionBuilder();
    const skValue = x.value({ S: sk });
    const conditions = [
      sk === RULE_SK_PREFIX ? `begins_with(${x.name(SK)}, ${skValue})` : `${x.name(SK)} = ${skValue}`,
    ];
    if (pkPrefix !== undefined) conditions.push(`begins_with(${x.name(PK)}, ${x.value({ S: pkPrefix })})`);
    return this.db.scanAll({ TableName: this.tableName, FilterExpression: conditions.join(' AND '), ...x.attributes() });
  }
}

/** A user's groups as stored: sorted, without duplicates. */
function sortedGroups(groups: readonly string[]): string[] {
  return [...new Set(groups)].sort();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return compare(a.name, b.name);
}
