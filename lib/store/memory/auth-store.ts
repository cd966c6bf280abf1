/**
 * In-memory AuthStore for unit tests: the same contract as the DynamoDB adapter. One entry per
 * principal partition (`user#{name}`, `group#{name}`): the profile, if any, and the rules by id.
 *
 * The built-in group `anonymous` always exists: without a stored profile it reads as
 * `{ name: 'anonymous', createdAt: 0 }`, and rules can be added to it without creating it.
 */
import {
  ANONYMOUS_GROUP,
  type AclRule,
  type GroupRecord,
  type PrincipalKind,
  type RuleOwner,
  type UserRecord,
} from '../../auth/types';
import type { AuthStore, PrincipalWithRules } from '../auth-port';
import { PrincipalExistsError, PrincipalNotFoundError } from '../errors';

interface Partition<T> {
  profile?: T;
  readonly rules: Map<string, AclRule>;
}

/** The record the built-in group has until a profile is stored for it. */
const BUILT_IN_ANONYMOUS_GROUP: GroupRecord = { name: ANONYMOUS_GROUP, createdAt: 0 };

export class MemoryAuthStore implements AuthStore {
  private readonly users = new Map<string, Partition<UserRecord>>();
  private readonly groups = new Map<string, Partition<GroupRecord>>();

  async getUser(name: string): Promise<PrincipalWithRules<UserRecord> | undefined> {
    const partition = this.users.get(name);
    if (partition?.profile === undefined) return undefined;
    return structuredClone({ record: partition.profile, rules: sortedRules(partition) });
  }

  async createUser(user: UserRecord): Promise<void> {
    const partition = this.partition(this.users, user.name);
    if (partition.profile !== undefined) throw new PrincipalExistsError('user', user.name);
    partition.profile = normalizedUser(user);
  }

  async updateUser(
    name: string,
    changes: { passwordHash?: string | null; groups?: readonly string[] },
  ): Promise<UserRecord> {
    const partition = this.users.get(name);
    if (partition?.profile === undefined) throw new PrincipalNotFoundError('user', name);
    const profile = partition.profile;
    partition.profile = normalizedUser({
      ...profile,
      ...(changes.passwordHash !== undefined && { passwordHash: changes.passwordHash }),
      ...(changes.groups !== undefined && { groups: changes.groups }),
    });
    return structuredClone(partition.profile);
  }

  async deleteUser(name: string): Promise<boolean> {
    const existed = this.users.get(name)?.profile !== undefined;
    this.users.delete(name);
    return existed;
  }

  async listUsers(): Promise<UserRecord[]> {
    return profiles(this.users);
  }

  async getGroup(name: string): Promise<PrincipalWithRules<GroupRecord> | undefined> {
    const partition = this.groups.get(name);
    const record = partition?.profile ?? (name === ANONYMOUS_GROUP ? BUILT_IN_ANONYMOUS_GROUP : undefined);
    if (record === undefined) return undefined;
    return structuredClone({ record, rules: partition === undefined ? [] : sortedRules(partition) });
  }

  async groupRules(names: readonly string[]): Promise<Map<string, readonly AclRule[]>> {
    const found = new Map<string, readonly AclRule[]>();
    for (const name of new Set(names)) {
      const group = await this.getGroup(name);
      if (group !== undefined) found.set(name, group.rules);
    }
    return found;
  }

  async createGroup(group: GroupRecord): Promise<void> {
    const partition = this.partition(this.groups, group.name);
    if (partition.profile !== undefined) throw new PrincipalExistsError('group', group.name);
    partition.profile = structuredClone(group);
  }

  async deleteGroup(name: string): Promise<boolean> {
    const partition = this.groups.get(name);
    // the built-in group "existed" if it had anything to delete
    const existed =
      partition !== undefined &&
      (partition.profile !== undefined || (name === ANONYMOUS_GROUP && partition.rules.size > 0));
    this.groups.delete(name);
    return existed;
  }

  async listGroups(): Promise<GroupRecord[]> {
    const groups = profiles(this.groups);
    if (!groups.some((g) => g.name === ANONYMOUS_GROUP)) {
      groups.push({ ...BUILT_IN_ANONYMOUS_GROUP });
      groups.sort(byName);
    }
    return groups;
  }

  async addRule(owner: RuleOwner, rule: AclRule): Promise<void> {
    const builtIn = owner.kind === 'group' && owner.name === ANONYMOUS_GROUP;
    const partition = owner.kind === 'user' ? this.users.get(owner.name) : this.groups.get(owner.name);
    if (partition?.profile === undefined && !builtIn) throw new PrincipalNotFoundError(owner.kind, owner.name);
    // only the built-in group can lack a partition here
    const target = partition ?? this.partition(this.groups, owner.name);
    target.rules.set(rule.id, structuredClone(rule));
  }

  async removeRule(owner: RuleOwner, id: string): Promise<boolean> {
    const partition = owner.kind === 'user' ? this.users.get(owner.name) : this.groups.get(owner.name);
    return partition?.rules.delete(id) ?? false;
  }

  async listRules(owner?: RuleOwner): Promise<Array<{ owner: RuleOwner; rule: AclRule }>> {
    const all: Array<{ owner: RuleOwner; rule: AclRule }> = [];
    const collect = (kind: PrincipalKind, map: Map<string, Partition<unknown>>) => {
      for (const [name, partition] of map) {
        if (owner !== undefined && (owner.kind !== kind || owner.name !== name)) continue;
        for (const rule of sortedRules(partition)) all.push({ owner: { kind, name }, rule: structuredClone(rule) });
      }
    };
    collect('group', this.groups);
    collect('user', this.users);
    return all.sort((a, b) => compareOwners(a.owner, b.owner) || compare(a.rule.id, b.rule.id));
  }

  private partition<T>(map: Map<string, Partition<T>>, name: string): Partition<T> {
    let partition = map.get(name);
    if (partition === undefined) {
      partition = { rules: new Map() };
      map.set(name, partition);
    }
    return partition;
  }
}

/** The record as stored: groups sorted without duplicates, a copy. */
function normalizedUser(user: UserRecord): UserRecord {
  return { ...structuredClone(user), groups: [...new Set(user.groups)].sort() };
}

/** Owners by kind ('group' before 'user'), then name: the order of their partition keys. */
function compareOwners(a: RuleOwner, b: RuleOwner): number {
  return compare(a.kind, b.kind) || compare(a.name, b.name);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return compare(a.name, b.name);
}

function sortedRules(partition: Partition<unknown>): AclRule[] {
  return [...partition.rules.values()].sort((a, b) => compare(a.id, b.id));
}

function profiles<T extends { name: string }>(map: Map<string, Partition<T>>): T[] {
  return [...map.values()]
    .flatMap((p) => (p.profile === undefined ? [] : [structuredClone(p.profile)]))
    .sort(byName);
}
