import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AclRule } from '../../../lib/auth/types';
import { DynamoAuthStore } from '../../../lib/store/dynamodb/auth-store';
import { MeteredDynamoDb } from '../../../lib/store/dynamodb/metered';
import { CorruptItemError } from '../../../lib/store/errors';
import { useDynamoTables } from '../../helpers/dynamodb';
import { authStoreContract } from '../../unit/store/auth-store.contract';

const db = await useDynamoTables({ tables: ['auth'] });
const table = db.names.auth;

authStoreContract('dynamodb', () => new DynamoAuthStore(db.metered, table));

const rule = (id: string): AclRule => ({ id, effect: 'allow', actions: ['publish'], pattern: 'a/%u' });

describe('DynamoAuthStore items', () => {
  const store = new DynamoAuthStore(db.metered, table);
  let p: string;
  beforeEach(() => {
    p = `i${randomUUID().slice(0, 8)}-`;
  });
  const raw = async (pk: string, sk: string) =>
    (await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } } }))).Item;

  it('lays a user out as user#{name} / profile and rule#{id}, the hash as given', async () => {
    await store.createUser({ name: p + 'alice', passwordHash: 'scrypt$h', groups: ['g'], createdAt: 7 });
    await store.addRule({ kind: 'user', name: p + 'alice' }, rule('r1'));
    expect(await raw(`user#${p}alice`, 'profile')).toEqual({
      pk: { S: `user#${p}alice` },
      sk: { S: 'profile' },
      name: { S: p + 'alice' },
      passwordHash: { S: 'scrypt$h' },
      groups: { L: [{ S: 'g' }] },
      createdAt: { N: '7' },
    });
    expect(await raw(`user#${p}alice`, 'rule#r1')).toEqual({
      pk: { S: `user#${p}alice` },
      sk: { S: 'rule#r1' },
      id: { S: 'r1' },
      effect: { S: 'allow' },
      actions: { L: [{ S: 'publish' }] },
      pattern: { S: 'a/%u' },
    });
  });

  it('leaves passwordHash out for a token-only user, and removes it on update to null', async () => {
    await store.createUser({ name: p + 't', passwordHash: null, groups: [], createdAt: 1 });
    expect(await raw(`user#${p}t`, 'profile')).not.toHaveProperty('passwordHash');
    await store.updateUser(p + 't', { passwordHash: 'scrypt$x' });
    expect(await raw(`user#${p}t`, 'profile')).toHaveProperty('passwordHash');
    await store.updateUser(p + 't', { passwordHash: null });
    expect(await raw(`user#${p}t`, 'profile')).not.toHaveProperty('passwordHash');
  });

  it('refuses items of the wrong shape with CorruptItemError', async () => {
    // The table is shared with the listing tests: remove the corrupt items afterwards.
    const written: Array<Record<string, { S: string }>> = [];
    const put = (item: Record<string, unknown>) => {
      written.push({ pk: item.pk as { S: string }, sk: item.sk as { S: string } });
      return db.client.send(new PutItemCommand({ TableName: table, Item: item as never }));
    };
    try {
      await put({ pk: { S: `user#${p}bad` }, sk: { S: 'profile' }, name: { S: p + 'bad' }, createdAt: { N: '1' } });
      await expect(store.getUser(p + 'bad')).rejects.toBeInstanceOf(CorruptItemError); // no groups
      await put({ pk: { S: `user#${p}other` }, sk: { S: 'profile' }, name: { S: 'someone-else' }, groups: { L: [] }, createdAt: { N: '1' } });
      await expect(store.getUser(p + 'other')).rejects.toBeInstanceOf(CorruptItemError); // name and key disagree
      await store.createGroup({ name: p + 'g', createdAt: 1 });
      await put({ pk: { S: `group#${p}g` }, sk: { S: 'rule#x' }, id: { S: 'x' }, effect: { S: 'allow' }, actions: { L: [] }, pattern: { S: 'a' } });
      await expect(store.getGroup(p + 'g')).rejects.toBeInstanceOf(CorruptItemError); // no action
      await put({ pk: { S: `group#${p}h` }, sk: { S: 'profile' }, name: { S: p + 'h' }, createdAt: { N: '1' } });
      await put({ pk: { S: `group#${p}h` }, sk: { S: 'stray' } });
      await expect(store.getGroup(p + 'h')).rejects.toBeInstanceOf(CorruptItemError);
    } finally {
      for (const Key of written) await db.client.send(new DeleteItemCommand({ TableName: table, Key }));
    }
  });
});

describe('DynamoAuthStore requests and units', () => {
  const store = new DynamoAuthStore(db.metered, table);
  const ops = () => db.meter.take().entries.map((e) => [e.operation, e.readUnits, e.writeUnits]);
  let p: string;

  beforeEach(async () => {
    p = `u${randomUUID().slice(0, 8)}-`;
    await store.createUser({ name: p + 'alice', passwordHash: 'scrypt$h', groups: [p + 'g1', p + 'g2'], createdAt: 1 });
    await store.createGroup({ name: p + 'g1', createdAt: 1 });
    await store.createGroup({ name: p + 'g2', createdAt: 1 });
    await store.addRule({ kind: 'user', name: p + 'alice' }, rule('r1'));
    db.meter.reset();
  });

  it('getUser: one strongly consistent Query; groupRules: one Query per group', async () => {
    await store.getUser(p + 'alice');
    expect(ops()).toEqual([['Query', 1, 0]]);
    await store.groupRules([p + 'g1', p + 'g2', p + 'g1']);
    expect(ops()).toEqual([
      ['Query', 1, 0],
      ['Query', 1, 0],
    ]);
  });

  it('create and update: one conditional write, 1 WRU', async () => {
    await store.createUser({ name: p + 'bob', passwordHash: null, groups: [], createdAt: 1 });
    await store.updateUser(p + 'bob', { groups: ['x'] });
    expect(ops()).toEqual([
      ['PutItem', 0, 1],
      ['UpdateItem', 0, 1],
    ]);
  });

  it('addRule: a transaction of a ConditionCheck and a Put; for anonymous a PutItem', async () => {
    await store.addRule({ kind: 'user', name: p + 'alice' }, rule('r2'));
    expect(ops()).toEqual([['TransactWriteItems', 0, 4]]);
    await store.addRule({ kind: 'group', name: 'anonymous' }, rule(p + 'r'));
    await store.removeRule({ kind: 'group', name: 'anonymous' }, p + 'r');
    expect(ops()).toEqual([
      ['PutItem', 0, 1],
      ['DeleteItem', 0, 1],
    ]);
  });

  it('deleteUser: a keys-only Query and one BatchWriteItem', async () => {
    await store.deleteUser(p + 'alice');
    expect(ops().map(([operation]) => operation)).toEqual(['Query', 'BatchWriteItem']);
  });
});

describe('DynamoAuthStore paging', () => {
  it('follows LastEvaluatedKey in Queries and Scans', async () => {
    // The real client, with pages of 2 items: exercises paging without 1 MB of data.
    const small = {
      send: (command: Parameters<typeof db.client.send>[0]) => {
        if (command instanceof QueryCommand || command instanceof ScanCommand) command.input.Limit = 2;
        return db.client.send(command);
      },
    } as unknown as typeof db.client;
    const store = new DynamoAuthStore(new MeteredDynamoDb(small), table);
    const p = `p${randomUUID().slice(0, 8)}-`;
    const names = [1, 2, 3, 4, 5].map((i) => `${p}${i}`);
    for (const name of names) await store.createUser({ name, passwordHash: null, groups: [], createdAt: 1 });
    const owner = { kind: 'user' as const, name: names[0] };
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.addRule(owner, rule(id));
    expect((await store.getUser(names[0]))?.rules.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await store.listRules(owner)).map((r) => r.rule.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await store.listRules()).filter((r) => r.owner.name === names[0])).toHaveLength(5);
    expect((await store.listUsers()).map((u) => u.name).filter((n) => n.startsWith(p))).toEqual(names);
    expect(await store.deleteUser(names[0])).toBe(true);
    expect(await store.listRules(owner)).toEqual([]);
  });
});
