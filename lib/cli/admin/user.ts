/**
 * `stratus user add|remove|passwd|list|groups`: users of the auth table. A user has a password
 * (scrypt hash; see lib/auth/password.ts) or none (token-only), and belongs to groups.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { hashPassword } from '../../auth/password';
import type { UserRecord } from '../../auth/types';
import { PrincipalExistsError, PrincipalNotFoundError } from '../../store/errors';
import { action, commandGroup, finishGroup, withTargetOptions, type AdminDeps, type Open } from './context';
import { AdminFailureError, AdminInputError } from './errors';
import { assertNotBuiltIn, collectList, parseArgument, parseOptions, PrincipalNameSchema } from './input';
import { formatTable, isoTime, listOrDash, type Report } from './output';
import { passwordSource, readPassword } from './password-input';
import type { AdminStores } from './stores';

const GroupListSchema = z.array(PrincipalNameSchema);

/** The user as printed: never the hash, only whether there is one. */
export function userView(user: UserRecord) {
  return { name: user.name, password: user.passwordHash !== null, groups: [...user.groups], createdAt: isoTime(user.createdAt) };
}

export function registerUserCommands(program: Command, deps: AdminDeps): void {
  const user = commandGroup(program, deps, 'user', 'manage users: passwords and group membership');

  withTargetOptions(
    user
      .command('add')
      .description('add a user; the password is prompted for (twice), or read from stdin with --password-stdin')
      .argument('<name>', 'the username clients send in CONNECT'),
  )
    .option('--group <names>', 'a group to join (repeatable, or comma-separated)', collectList)
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--no-password', 'no password: the user signs in with a token only')
    .action(action(deps, (input, context) => addUser(input.args[0], input.options, deps, context.open)));

  withTargetOptions(user.command('remove').description('remove a user and its ACL rules').argument('<name>'))
    .action(action(deps, (input, context) => removeUser(input.args[0], input.options, context.open)));

  withTargetOptions(
    user
      .command('passwd')
      .description("change a user's password (prompted for twice, or read from stdin with --password-stdin)")
      .argument('<name>'),
  )
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--no-password', 'remove the password: the user signs in with a token only')
    .action(action(deps, (input, context) => changePassword(input.args[0], input.options, deps, context.open)));

  withTargetOptions(user.command('list').description('list users: name, password set or not, groups'))
    .action(action(deps, (input, context) => listUsers(input.options, context.open)));

  withTargetOptions(
    user
      .command('groups')
      .description("show a user's groups, or change them with --add, --remove or --set")
      .argument('<name>'),
  )
    .option('--add <names>', 'join these groups (repeatable, or comma-separated)', collectList)
    .option('--remove <names>', 'leave these groups (repeatable, or comma-separated)', collectList)
    .option('--set <names>', "replace the user's groups (comma-separated; '' for none)", collectList)
    .action(action(deps, (input, context) => userGroups(input.args[0], input.options, context.open)));

  finishGroup(user, deps);
}

const PasswordOptions = {
  passwordStdin: z.boolean().default(false),
  // commander's --no-password: true unless given
  password: z.boolean().default(true),
};

async function addUser(rawName: unknown, raw: Record<string, unknown>, deps: AdminDeps, open: Open): Promise<Report> {
  const name = parseArgument(PrincipalNameSchema, rawName, 'NAME');
  const options = parseOptions({ ...PasswordOptions, group: GroupListSchema.default([]) }, raw);
  const groups = [...new Set(options.group)].sort();
  for (const group of groups) assertNotBuiltIn(group, 'invalid --group');
  if (!options.password && options.passwordStdin) {
    throw new AdminInputError('--no-password and --password-stdin exclude each other');
  }
  const source = options.password ? passwordSource(options.passwordStdin, deps.io.stdin) : undefined;
  const stores = await open(options);
  if ((await stores.auth.getUser(name)) !== undefined) throw new PrincipalExistsError('user', name);
  await assertGroupsExist(stores, groups);
  const passwordHash = source === undefined ? null : await hashPassword(await readPassword(source, deps.io, name));
  const record: UserRecord = { name, passwordHash, groups, createdAt: deps.now() };
  await stores.auth.createUser(record);
  const joined = groups.length > 0 ? ` in ${groups.join(', ')}` : '';
  return {
    json: userView(record),
    text: `user ${name} added${joined}${passwordHash === null ? ' (no password: token sign-in only)' : ''}`,
  };
}

async function removeUser(rawName: unknown, raw: Record<string, unknown>, open: Open): Promise<Report> {
  const name = parseArgument(PrincipalNameSchema, rawName, 'NAME');
  const options = parseOptions({}, raw);
  const stores = await open(options);
  if (!(await stores.auth.deleteUser(name))) throw new PrincipalNotFoundError('user', name);
  return {
    json: { name, removed: true },
    text:
      `user ${name} removed, with its rules\n` +
      `clients already connected as ${name} keep their access until they disconnect (stratus sessions kick)`,
  };
}

async function changePassword(rawName: unknown, raw: Record<string, unknown>, deps: AdminDeps, open: Open): Promise<Report> {
  const name = parseArgument(PrincipalNameSchema, rawName, 'NAME');
  const options = parseOptions(PasswordOptions, raw);
  if (!options.password && options.passwordStdin) {
    throw new AdminInputError('--no-password and --password-stdin exclude each other');
  }
  const source = options.password ? passwordSource(options.passwordStdin, deps.io.stdin) : undefined;
  const stores = await open(options);
  if ((await stores.auth.getUser(name)) === undefined) throw new PrincipalNotFoundError('user', name);
  const passwordHash = source === undefined ? null : await hashPassword(await readPassword(source, deps.io, name));
  const updated = await stores.auth.updateUser(name, { passwordHash });
  return {
    json: userView(updated),
    text: passwordHash === null ? `password of ${name} removed (token sign-in only)` : `password of ${name} changed`,
  };
}

async function listUsers(raw: Record<string, unknown>, open: Open): Promise<Report> {
  const options = parseOptions({}, raw);
  const users = await (await open(options)).auth.listUsers();
  return {
    json: users.map(userView),
    text: formatTable(
      ['NAME', 'PASSWORD', 'GROUPS', 'CREATED'],
      users.map((u) => [u.name, u.passwordHash === null ? 'no' : 'yes', listOrDash(u.groups), isoTime(u.createdAt)]),
      'no users',
    ),
  };
}

async function userGroups(rawName: unknown, raw: Record<string, unknown>, open: Open): Promise<Report> {
  const name = parseArgument(PrincipalNameSchema, rawName, 'NAME');
  const options = parseOptions(
    {
      add: GroupListSchema.optional(),
      remove: GroupListSchema.optional(),
      // `--set ''` gives one empty name: no groups
      set: z.array(z.string()).transform((names) => names.filter((n) => n !== '')).pipe(GroupListSchema).optional(),
    },
    raw,
  );
  if (options.set !== undefined && (options.add !== undefined || options.remove !== undefined)) {
    throw new AdminInputError('--set replaces the groups: use it without --add and --remove');
  }
  for (const group of [...(options.add ?? []), ...(options.set ?? [])]) assertNotBuiltIn(group, 'invalid group');
  const stores = await open(options);
  const found = await stores.auth.getUser(name);
  if (found === undefined) throw new PrincipalNotFoundError('user', name);
  const current = found.record.groups;
  const changing = options.set !== undefined || options.add !== undefined || options.remove !== undefined;
  let user = found.record;
  if (changing) {
    const removed = new Set(options.remove ?? []);
    const next = options.set ?? [...current.filter((g) => !removed.has(g)), ...(options.add ?? [])];
    const groups = [...new Set(next)].sort();
    await assertGroupsExist(stores, groups.filter((g) => !current.includes(g)));
    user = await stores.auth.updateUser(name, { groups });
  }
  return {
    json: { name, groups: [...user.groups] },
    text: `${name}: ${user.groups.length === 0 ? 'no groups' : user.groups.join(', ')}`,
  };
}

async function assertGroupsExist(stores: AdminStores, groups: readonly string[]): Promise<void> {
  const found = await Promise.all(groups.map((group) => stores.auth.getGroup(group)));
  const missing = groups.find((_, i) => found[i] === undefined);
  if (missing !== undefined) {
    throw new AdminFailureError(`group ${missing} does not exist (create it with stratus group add ${missing})`);
  }
}
