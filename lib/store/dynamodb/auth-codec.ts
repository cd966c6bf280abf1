/**
 * The `auth` item codec. A principal's partition key is `user#{name}` or `group#{name}` (`pk`);
 * its items, by sort key (`sk`):
 * - `profile`: the user (name, `passwordHash` absent for a token-only user, `groups` as a list of
 *   strings, `createdAt`) or the group (name, `description`, `createdAt`);
 * - `rule#{id}`: one rule (id, effect, `actions` as a list of strings, pattern).
 * The name is stored in the item too and must agree with the key; an item of another shape is a
 * CorruptItemError. The plain password is never stored: only its scrypt hash
 * (lib/auth/password.ts).
 */
import type { AclAction, AclEffect, AclRule, GroupRecord, PrincipalKind, RuleOwner, UserRecord } from '../../auth/types';
import { CorruptItemError } from '../errors';
import { TABLE_SCHEMAS } from '../schema';
import { num, optional, recordCodec, required, str, strOneOf, type AttributeCodec, type Item } from './marshal';

export const PK = TABLE_SCHEMAS.auth.partitionKey.name;
export const SK = TABLE_SCHEMAS.auth.sortKey?.name ?? 'sk';
export const PROFILE_SK = 'profile';
export const RULE_SK_PREFIX = 'rule#';

const TABLE = 'auth';
const KINDS: readonly PrincipalKind[] = ['user', 'group'];

/** A list of strings (L of S); `nonEmpty` refuses an empty list. */
function stringList<T extends string>(element: AttributeCodec<T>, nonEmpty: boolean): AttributeCodec<T[]> {
  return {
    encode: (values) => ({ L: values.map((v) => element.encode(v)) }),
    decode: (a) => {
      if (a.L === undefined || (nonEmpty && a.L.length === 0)) return undefined;
      const values: T[] = [];
      for (const item of a.L) {
        const value = element.decode(item);
        if (value === undefined) return undefined;
        values.push(value);
      }
      return values;
    },
  };
}

interface UserItem {
  pk: string;
  sk: string;
  name: string;
  passwordHash?: string;
  groups: string[];
  createdAt: number;
}

interface GroupItem {
  pk: string;
  sk: string;
  name: string;
  description?: string;
  createdAt: number;
}

interface RuleItem {
  pk: string;
  sk: string;
  id: string;
  effect: AclEffect;
  actions: AclAction[];
  pattern: string;
}

const userCodec = recordCodec<UserItem>(TABLE, {
  pk: required(str),
  sk: required(str),
  name: required(str),
  passwordHash: optional(str),
  groups: required(stringList(str, false)),
  createdAt: required(num),
});

const groupCodec = recordCodec<GroupItem>(TABLE, {
  pk: required(str),
  sk: required(str),
  name: required(str),
  description: optional(str),
  createdAt: required(num),
});

const ruleCodec = recordCodec<RuleItem>(TABLE, {
  pk: required(str),
  sk: required(str),
  id: required(str),
  effect: required(strOneOf<AclEffect>(['allow', 'deny'])),
  actions: required(stringList(strOneOf<AclAction>(['publish', 'subscribe']), true)),
  pattern: required(str),
});

/** The partition key of a principal: `user#{name}` or `group#{name}`. */
export function principalKey(kind: PrincipalKind, name: string): string {
  return `${kind}#${name}`;
}

/** The owner a partition key names; CorruptItemError for another key. */
function ownerOfKey(pk: string): RuleOwner {
  const hash = pk.indexOf('#');
  const kind = pk.slice(0, hash) as PrincipalKind;
  if (hash === -1 || !KINDS.includes(kind)) throw new CorruptItemError(TABLE, `unknown partition ${pk}`);
  return { kind, name: pk.slice(hash + 1) };
}

export function ruleKey(owner: RuleOwner, id: string): Item {
  return { [PK]: { S: principalKey(owner.kind, owner.name) }, [SK]: { S: RULE_SK_PREFIX + id } };
}

export function profileKey(kind: PrincipalKind, name: string): Item {
  return { [PK]: { S: principalKey(kind, name) }, [SK]: { S: PROFILE_SK } };
}

export function userItem(user: UserRecord): Item {
  return userCodec.toItem({
    pk: principalKey('user', user.name),
    sk: PROFILE_SK,
    name: user.name,
    ...(user.passwordHash !== null && { passwordHash: user.passwordHash }),
    groups: [...user.groups],
    createdAt: user.createdAt,
  });
}

/** The `groups` attribute of an update. */
export function groupsAttribute(groups: readonly string[]) {
  return stringList(str, false).encode([...groups]);
}

export function fromUserItem(item: Item): UserRecord {
  const decoded = userCodec.fromItem(item);
  checkName(decoded, 'user');
  return {
    name: decoded.name,
    passwordHash: decoded.passwordHash ?? null,
    groups: decoded.groups,
    createdAt: decoded.createdAt,
  };
}

export function groupItem(group: GroupRecord): Item {
  return groupCodec.toItem({
    pk: principalKey('group', group.name),
    sk: PROFILE_SK,
    name: group.name,
    description: group.description,
    createdAt: group.createdAt,
  });
}

export function fromGroupItem(item: Item): GroupRecord {
  const decoded = groupCodec.fromItem(item);
  checkName(decoded, 'group');
  const group: GroupRecord = { name: decoded.name, createdAt: decoded.createdAt };
  return decoded.description === undefined ? group : { ...group, description: decoded.description };
}

export function ruleItem(owner: RuleOwner, rule: AclRule): Item {
  return ruleCodec.toItem({
    pk: principalKey(owner.kind, owner.name),
    sk: RULE_SK_PREFIX + rule.id,
    id: rule.id,
    effect: rule.effect,
    actions: [...rule.actions],
    pattern: rule.pattern,
  });
}

export function fromRuleItem(item: Item): { owner: RuleOwner; rule: AclRule } {
  const decoded = ruleCodec.fromItem(item);
  if (decoded.sk !== RULE_SK_PREFIX + decoded.id) {
    throw new CorruptItemError(TABLE, `rule ${decoded.id} is stored under ${decoded.sk}`);
  }
  const rule: AclRule = { id: decoded.id, effect: decoded.effect, actions: decoded.actions, pattern: decoded.pattern };
  return { owner: ownerOfKey(decoded.pk), rule };
}

/** The profile and rules of one partition (a Query's items); CorruptItemError for a stray item. */
export function fromPartition<T>(
  kind: PrincipalKind,
  items: readonly Item[],
  decodeProfile: (item: Item) => T,
): { profile?: T; rules: AclRule[] } {
  let profile: T | undefined;
  const rules: AclRule[] = [];
  for (const item of items) {
    const sk = item[SK]?.S;
    if (sk === PROFILE_SK) profile = decodeProfile(item);
    else if (sk?.startsWith(RULE_SK_PREFIX)) rules.push(fromRuleItem(item).rule);
    else throw new CorruptItemError(TABLE, `unknown item ${sk ?? '(no sort key)'} of a ${kind}`);
  }
  rules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return profile === undefined ? { rules } : { profile, rules };
}

/** The stored name agrees with the partition key, and the key is a profile's. */
function checkName(decoded: { pk: string; sk: string; name: string }, kind: PrincipalKind): void {
  if (decoded.pk !== principalKey(kind, decoded.name) || decoded.sk !== PROFILE_SK) {
    throw new CorruptItemError(TABLE, `${kind} ${decoded.name} is stored under ${decoded.pk} ${decoded.sk}`);
  }
}
