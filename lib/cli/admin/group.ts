/**
 * `stratus group add|remove|list`: groups of the auth table. A group holds ACL rules that apply to
 * its members. The group `anonymous` is built in: its rules apply to anonymous clients; it cannot
 * be added or removed, only given rules (`stratus acl add --group anonymous ...`).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { ANONYMOUS_GROUP, type GroupRecord, type UserRecord } from '../../auth/types';
import { PrincipalNotFoundError } from '../../store/errors';
import { action, commandGroup, finishGroup, withTargetOptions, type AdminDeps, type Open } from './context';
import { assertNotBuiltIn, parseArgument, parseOptions, PrincipalNameSchema } from './input';
import { formatTable, isoTime, type Report } from './output';

const DescriptionSchema = z
  .string()
  .max(256, 'longer than 256 characters')
  // eslint-disable-next-line no-control-regex
  .refine((text) => !/[\u0000-\u001f\u007f]/.test(text), 'one line of text');

export function registerGroupCommands(program: Command, deps: AdminDeps): void {
  const group = commandGroup(program, deps, 'group', 'manage groups: members share the ACL rules of their groups');

  withTargetOptions(group.command('add').description('add a group').argument('<name>'))
    .option('--description <text>', 'what the group is for')
    .action(action(deps, (input, context) => addGroup(input.args[0], input.options, deps, context.open)));

  withTargetOptions(
    group.command('remove').description('remove a group and its rules; its members leave it').argument('<name>'),
  ).action(action(deps, (input, context) => removeGroup(input.args[0], input.options, context.open)));

  withTargetOptions(group.command('list').description('list groups, with their member counts'))
    .action(action(deps, (input, context) => listGroups(input.options, context.open)));

  finishGroup(group, deps);
}

async function addGroup(rawName: unknown, raw: Record<string, unknown>, deps: AdminDeps, open: Open): Promise<Report> {
  const name = parseArgument(PrincipalNameSchema, rawName, 'NAME');
  const options = parseOptions({ description: DescriptionSchema.optional() }, raw);
  assertNotBuiltIn(name, 'invalid NAME');
  const stores = await open(options);
  const record: GroupRecord = {
    name,
    ...(options.description !== undefined && { description: options.description }),
    createdAt: deps.now(),
  };
  await stores.auth.createGroup(record);
  return { json: groupView(record, 0), text: `group ${name} added` };
}

/**
 * Deletes the group, then takes it out of its members' lists, so that a group created later with
 * the same name does not silently hand its rules to the old members.
 */
async function removeGroup(rawName: unknown, raw: Record<string, unknown>, open: Open): Promise<Report> {
  const name = parseArgument(PrincipalNameSchema, rawName, 'NAME');
  const options = parseOptions({}, raw);
  assertNotBuiltIn(name, 'invalid NAME');
  const stores = await open(options);
  if (!(await stores.auth.deleteGroup(name))) throw new PrincipalNotFoundError('group', name);
  const members = (await stores.auth.listUsers()).filter((user) => user.groups.includes(name));
  for (const member of members) {
    await stores.auth.updateUser(member.name, { groups: member.groups.filter((g) => g !== name) });
  }
  const left = members.length === 0 ? '' : ` (${members.length} member${members.length === 1 ? '' : 's'} left it)`;
  return {
    json: { name, removed: true, members: members.map((m) => m.name) },
    text: `group ${name} removed, with its rules${left}`,
  };
}

async function listGroups(raw: Record<string, unknown>, open: Open): Promise<Report> {
  const options = parseOptions({}, raw);
  const stores = await open(options);
  const [groups, users] = await Promise.all([stores.auth.listGroups(), stores.auth.listUsers()]);
  const views = groups.map((g) => groupView(g, memberCount(users, g.name)));
  return {
    json: views,
    text: formatTable(
      ['NAME', 'MEMBERS', 'DESCRIPTION'],
      views.map((g) => [g.name, g.builtIn ? '-' : String(g.members), g.description ?? '']),
      'no groups',
    ),
  };
}

function groupView(group: GroupRecord, members: number) {
  const builtIn = group.name === ANONYMOUS_GROUP;
  return {
    name: group.name,
    builtIn,
    description: group.description ?? (builtIn ? 'built in: rules for anonymous clients' : undefined),
    members,
    createdAt: builtIn && group.createdAt === 0 ? null : isoTime(group.createdAt),
  };
}

function memberCount(users: readonly UserRecord[], group: string): number {
  return users.filter((user) => user.groups.includes(group)).length;
}
