/**
 * The AuthStore contract: every adapter passes these tests. Run by
 * test/unit/store/memory-auth-store.test.ts and
 * test/integration/store/dynamodb-auth-store.test.ts.
 *
 * The DynamoDB adapter's table is shared by the tests of a file, so every test names its users
 * and groups with its own prefix and, for the listings (Scans), looks only at its own names. The
 * built-in group `anonymous` is shared too: only one test writes to it, and cleans up.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ANONYMOUS_GROUP, type AclRule, type UserRecord } from '../../../lib/auth/types';
import type { AuthStore } from '../../../lib/store/auth-port';
import { PrincipalExistsError, PrincipalNotFoundError } from '../../../lib/store/errors';

export type AuthStoreFactory = () => AuthStore | Promise<AuthStore>;

const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=';

export function authStoreContract(adapter: string, makeStore: AuthStoreFactory): void {
  describe(`AuthStore contract: ${adapter}`, () => {
    let store: AuthStore;
    let p: string;

    beforeEach(async () => {
      store = await makeStore();
      p = `t${randomUUID().slice(0, 8)}-`;
    });

    const user = (name: string, overrides: Partial<UserRecord> = {}): UserRecord => ({
      name: p + name,
      passwordHash: HASH,
      groups: [],
      createdAt: 1_700_000_000_000,
      ...overrides,
    });
    const rule = (id: string, overrides: Partial<AclRule> = {}): AclRule => ({
      id,
      effect: 'allow',
      actions: ['publish', 'subscribe'],
      pattern: 'plant/%u/#',
      ...overrides,
    });
    const mine = <T extends { name: string }>(records: T[]) => records.filter((r) => r.name.startsWith(p));

    describe('users', () => {
      it('creates a user and reads it back with no rules', async () => {
        const record = user('alice', { groups: ['g1'] });
        await store.createUser(record);
        expect(await store.getUser(record.name)).toEqual({ record, rules: [] });
      });

      it('keeps a token-only user (null password hash) as null', async () => {
        const record = user('token', { passwordHash: null });
        await store.createUser(record);
        expect((await store.getUser(record.name))?.record).toEqual(record);
      });

      it('stores groups sorted and without duplicates', async () => {
        await store.createUser(user('bob', { groups: ['b', 'a', 'b'] }));
        expect((await store.getUser(p + 'bob'))?.record.groups).toEqual(['a', 'b']);
      });

      it('returns undefined for an unknown user', async () => {
        expect(await store.getUser(p + 'nobody')).toBeUndefined();
      });

      it('refuses to create a user twice: PrincipalExistsError', async () => {
        await store.createUser(user('alice'));
        const error = await store.createUser(user('alice', { passwordHash: null })).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PrincipalExistsError);
        expect(error).toMatchObject({ kind: 'user', principal: p + 'alice' });
        expect((await store.getUser(p + 'alice'))?.record.passwordHash).toBe(HASH);
      });

      it('keeps users and groups of the same name apart', async () => {
        await store.createUser(user('same'));
        await store.createGroup({ name: p + 'same', createdAt: 1 });
        expect((await store.getUser(p + 'same'))?.record.name).toBe(p + 'same');
        expect((await store.getGroup(p + 'same'))?.record).toEqual({ name: p + 'same', createdAt: 1 });
      });

      it('updates the password hash and the groups, and returns the record', async () => {
        await store.createUser(user('alice', { groups: ['a'] }));
        const updated = await store.updateUser(p + 'alice', { passwordHash: 'scrypt$new', groups: ['z', 'b', 'z'] });
        expect(updated).toEqual(user('alice', { passwordHash: 'scrypt$new', groups: ['b', 'z'] }));
        expect((await store.getUser(p + 'alice'))?.record).toEqual(updated);
      });

      it('updates only what changes: groups alone, a null hash, nothing', async () => {
        await store.createUser(user('alice', { groups: ['a'] }));
        expect(await store.updateUser(p + 'alice', { groups: [] })).toEqual(user('alice'));
        expect(await store.updateUser(p + 'alice', { passwordHash: null })).toEqual(user('alice', { passwordHash: null }));
        expect(await store.updateUser(p + 'alice', {})).toEqual(user('alice', { passwordHash: null }));
      });

      it('refuses to update an unknown user: PrincipalNotFoundError, and creates nothing', async () => {
        const error = await store.updateUser(p + 'ghost', { groups: ['a'] }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PrincipalNotFoundError);
        expect(error).toMatchObject({ kind: 'user', principal: p + 'ghost' });
        expect(await store.getUser(p + 'ghost')).toBeUndefined();
      });

      it('deletes a user with its rules; false the second time', async () => {
        await store.createUser(user('alice'));
        await store.addRule({ kind: 'user', name: p + 'alice' }, rule('r1'));
        expect(await store.deleteUser(p + 'alice')).toBe(true);
        expect(await store.getUser(p + 'alice')).toBeUndefined();
        expect(await store.listRules({ kind: 'user', name: p + 'alice' })).toEqual([]);
        expect(await store.deleteUser(p + 'alice')).toBe(false);
        // a new user of that name starts without the old rules
        await store.createUser(user('alice'));
        expect((await store.getUser(p + 'alice'))?.rules).toEqual([]);
      });

      it('deletes a user with more rules than one batch holds', async () => {
        const owner = { kind: 'user' as const, name: p + 'many' };
        await store.createUser(user('many'));
        await Promise.all(Array.from({ length: 30 }, (_, i) => store.addRule(owner, rule(`r${String(i).padStart(2, '0')}`))));
        expect((await store.getUser(owner.name))?.rules).toHaveLength(30);
        expect(await store.deleteUser(owner.name)).toBe(true);
        expect(await store.listRules(owner)).toEqual([]);
      });

      it('lists users sorted by name', async () => {
        await store.createUser(user('carol'));
        await store.createUser(user('alice', { passwordHash: null }));
        await store.createUser(user('bob', { groups: ['g'] }));
        expect(mine(await store.listUsers())).toEqual([
          user('alice', { passwordHash: null }),
          user('bob', { groups: ['g'] }),
          user('carol'),
        ]);
      });
    });

    describe('groups', () => {
      it('creates a group, with or without a description, and reads it back', async () => {
        await store.createGroup({ name: p + 'ops', description: 'operators', createdAt: 5 });
        await store.createGroup({ name: p + 'dev', createdAt: 6 });
        expect(await store.getGroup(p + 'ops')).toEqual({
          record: { name: p + 'ops', description: 'operators', createdAt: 5 },
          rules: [],
        });
        expect((await store.getGroup(p + 'dev'))?.record).toEqual({ name: p + 'dev', createdAt: 6 });
        expect(await store.getGroup(p + 'none')).toBeUndefined();
      });

      it('refuses to create a group twice: PrincipalExistsError', async () => {
        await store.createGroup({ name: p + 'ops', createdAt: 5 });
        const error = await store.createGroup({ name: p + 'ops', createdAt: 6 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PrincipalExistsError);
        expect(error).toMatchObject({ kind: 'group', principal: p + 'ops' });
      });

      it('returns the rules of the groups that exist, each once', async () => {
        await store.createGroup({ name: p + 'a', createdAt: 1 });
        await store.createGroup({ name: p + 'b', createdAt: 1 });
        await store.addRule({ kind: 'group', name: p + 'a' }, rule('x'));
        const rules = await store.groupRules([p + 'a', p + 'b', p + 'missing', p + 'a']);
        expect([...rules.keys()].sort()).toEqual([p + 'a', p + 'b']);
        expect(rules.get(p + 'a')).toEqual([rule('x')]);
        expect(rules.get(p + 'b')).toEqual([]);
        expect(await store.groupRules([])).toEqual(new Map());
      });

      it('deletes a group with its rules; members keep the name; false the second time', async () => {
        await store.createGroup({ name: p + 'ops', createdAt: 1 });
        await store.addRule({ kind: 'group', name: p + 'ops' }, rule('r1'));
        await store.createUser(user('alice', { groups: [p + 'ops'] }));
        expect(await store.deleteGroup(p + 'ops')).toBe(true);
        expect(await store.getGroup(p + 'ops')).toBeUndefined();
        expect(await store.groupRules([p + 'ops'])).toEqual(new Map());
        expect((await store.getUser(p + 'alice'))?.record.groups).toEqual([p + 'ops']);
        expect(await store.deleteGroup(p + 'ops')).toBe(false);
      });

      it('lists groups sorted by name, the built-in group anonymous among them', async () => {
        await store.createGroup({ name: p + 'b', createdAt: 2 });
        await store.createGroup({ name: p + 'a', description: 'first', createdAt: 1 });
        const groups = await store.listGroups();
        expect(mine(groups)).toEqual([
          { name: p + 'a', description: 'first', createdAt: 1 },
          { name: p + 'b', createdAt: 2 },
        ]);
        expect(groups.map((g) => g.name)).toContain(ANONYMOUS_GROUP);
        const names = groups.map((g) => g.name);
        expect(names).toEqual([...names].sort());
      });
    });

    describe('rules', () => {
      it('adds rules to a user and a group; getUser and getGroup return them sorted by id', async () => {
        await store.createUser(user('alice'));
        await store.createGroup({ name: p + 'ops', createdAt: 1 });
        const alice = { kind: 'user' as const, name: p + 'alice' };
        await store.addRule(alice, rule('b', { effect: 'deny', actions: ['subscribe'], pattern: 'x/#' }));
        await store.addRule(alice, rule('a'));
        await store.addRule({ kind: 'group', name: p + 'ops' }, rule('c', { actions: ['publish'] }));
        expect((await store.getUser(alice.name))?.rules).toEqual([
          rule('a'),
          rule('b', { effect: 'deny', actions: ['subscribe'], pattern: 'x/#' }),
        ]);
        expect((await store.getGroup(p + 'ops'))?.rules).toEqual([rule('c', { actions: ['publish'] })]);
      });

      it('replaces a rule added again with the same id', async () => {
        await store.createUser(user('alice'));
        const alice = { kind: 'user' as const, name: p + 'alice' };
        await store.addRule(alice, rule('a'));
        await store.addRule(alice, rule('a', { pattern: 'other/#' }));
        expect((await store.getUser(alice.name))?.rules).toEqual([rule('a', { pattern: 'other/#' })]);
      });

      it('refuses a rule for an owner that does not exist: PrincipalNotFoundError, nothing written', async () => {
        for (const owner of [
          { kind: 'user' as const, name: p + 'ghost' },
          { kind: 'group' as const, name: p + 'ghost' },
        ]) {
          const error = await store.addRule(owner, rule('a')).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(PrincipalNotFoundError);
          expect(error).toMatchObject({ kind: owner.kind, principal: owner.name });
          expect(await store.listRules(owner)).toEqual([]);
        }
        // a user does not make a group of its name exist, nor the other way round
        await store.createUser(user('u'));
        await expect(store.addRule({ kind: 'group', name: p + 'u' }, rule('a'))).rejects.toBeInstanceOf(
          PrincipalNotFoundError,
        );
      });

      it('removes a rule; false for a rule or owner that does not exist', async () => {
        await store.createUser(user('alice'));
        const alice = { kind: 'user' as const, name: p + 'alice' };
        await store.addRule(alice, rule('a'));
        await store.addRule(alice, rule('b'));
        expect(await store.removeRule(alice, 'a')).toBe(true);
        expect(await store.removeRule(alice, 'a')).toBe(false);
        expect(await store.removeRule({ kind: 'user', name: p + 'ghost' }, 'a')).toBe(false);
        expect(await store.removeRule({ kind: 'group', name: p + 'alice' }, 'b')).toBe(false);
        expect((await store.getUser(alice.name))?.rules).toEqual([rule('b')]);
      });

      it('lists the rules of one owner, or of every owner sorted by owner then id', async () => {
        await store.createUser(user('bob'));
        await store.createUser(user('alice'));
        await store.createGroup({ name: p + 'ops', createdAt: 1 });
        await store.addRule({ kind: 'user', name: p + 'bob' }, rule('z'));
        await store.addRule({ kind: 'user', name: p + 'bob' }, rule('a'));
        await store.addRule({ kind: 'user', name: p + 'alice' }, rule('m'));
        await store.addRule({ kind: 'group', name: p + 'ops' }, rule('q'));
        expect(await store.listRules({ kind: 'user', name: p + 'bob' })).toEqual([
          { owner: { kind: 'user', name: p + 'bob' }, rule: rule('a') },
          { owner: { kind: 'user', name: p + 'bob' }, rule: rule('z') },
        ]);
        const all = (await store.listRules()).filter((r) => r.owner.name.startsWith(p));
        expect(all).toEqual([
          { owner: { kind: 'group', name: p + 'ops' }, rule: rule('q') },
          { owner: { kind: 'user', name: p + 'alice' }, rule: rule('m') },
          { owner: { kind: 'user', name: p + 'bob' }, rule: rule('a') },
          { owner: { kind: 'user', name: p + 'bob' }, rule: rule('z') },
        ]);
      });
    });

    describe('the built-in group anonymous', () => {
      it('exists without being created, takes rules, and can be cleared', async () => {
        const anonymous = { kind: 'group' as const, name: ANONYMOUS_GROUP };
        const id = `${p}deny-sys`;
        expect(await store.getGroup(ANONYMOUS_GROUP)).toMatchObject({ record: { name: ANONYMOUS_GROUP } });
        await store.addRule(anonymous, rule(id, { effect: 'deny', pattern: '$SYS/#' }));
        expect((await store.getGroup(ANONYMOUS_GROUP))?.rules).toContainEqual(
          rule(id, { effect: 'deny', pattern: '$SYS/#' }),
        );
        expect((await store.groupRules([ANONYMOUS_GROUP])).get(ANONYMOUS_GROUP)).toContainEqual(
          rule(id, { effect: 'deny', pattern: '$SYS/#' }),
        );
        expect(await store.listRules(anonymous)).toContainEqual({ owner: anonymous, rule: rule(id, { effect: 'deny', pattern: '$SYS/#' }) });
        expect(await store.removeRule(anonymous, id)).toBe(true);
        expect((await store.getGroup(ANONYMOUS_GROUP))?.rules ?? []).not.toContainEqual(
          rule(id, { effect: 'deny', pattern: '$SYS/#' }),
        );
      });
    });
  });
}
