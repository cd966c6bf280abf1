/**
 * Users, groups and their ACL rules (table `auth`, lib/store/schema.ts). Each principal is one
 * partition: `user#{name}` or `group#{name}` holds a `profile` item and one `rule#{id}` item per
 * rule, so loading a user with its own rules is one Query, and each of its groups one more.
 *
 * Only CONNECT (and the admin CLI) reads this table; the publish path never does: the rules are
 * compiled at CONNECT and cached with the connection (lib/auth/types.ts ConnectionAcl).
 */
import type { AclRule, GroupRecord, RuleOwner, UserRecord } from '../auth/types';

export interface PrincipalWithRules<T> {
  readonly record: T;
  readonly rules: readonly AclRule[];
}

export interface AuthStore {
  /** The user and its own rules (one Query), or undefined. */
  getUser(name: string): Promise<PrincipalWithRules<UserRecord> | undefined>;
  /**
   * Creates the user.
   * @throws PrincipalExistsError if it exists
   */
  createUser(user: UserRecord): Promise<void>;
  /**
   * Replaces the password hash and/or the group list of an existing user.
   * @throws PrincipalNotFoundError if the user does not exist
   */
  updateUser(name: string, changes: { passwordHash?: string | null; groups?: readonly string[] }): Promise<UserRecord>;
  /** Deletes the user and its rules; false if it did not exist. */
  deleteUser(name: string): Promise<boolean>;
  /** Every user, sorted by name (the CLI; a Scan). */
  listUsers(): Promise<UserRecord[]>;

  /** The group and its rules (one Query), or undefined. */
  getGroup(name: string): Promise<PrincipalWithRules<GroupRecord> | undefined>;
  /** The rules of each named group that exists, in parallel (CONNECT); missing groups are absent. */
  groupRules(names: readonly string[]): Promise<Map<string, readonly AclRule[]>>;
  /** @throws PrincipalExistsError if it exists */
  createGroup(group: GroupRecord): Promise<void>;
  /** Deletes the group and its rules; false if it did not exist. Members keep the name in `groups`. */
  deleteGroup(name: string): Promise<boolean>;
  /** Every group, sorted by name (the CLI; a Scan). */
  listGroups(): Promise<GroupRecord[]>;

  /**
   * Adds a rule to an existing user or group (the built-in group `anonymous` need not exist).
   * @throws PrincipalNotFoundError if the owner does not exist
   */
  addRule(owner: RuleOwner, rule: AclRule): Promise<void>;
  /** Removes a rule; false if it did not exist. */
  removeRule(owner: RuleOwner, id: string): Promise<boolean>;
  /** Rules of one owner, or of every owner (the CLI), sorted by owner then id. */
  listRules(owner?: RuleOwner): Promise<Array<{ owner: RuleOwner; rule: AclRule }>>;
}
