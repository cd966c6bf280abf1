/**
 * `stratus acl add|remove|list`: topic ACL rules of users and groups (lib/auth/acl.ts has the
 * model: deny beats allow; `%u` and `%c` in a pattern stand for the username and the client id).
 * Rules of the built-in group `anonymous` apply to anonymous clients.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { describeRule, validateAclRule, validateRulePattern } from '../../auth/acl';
import type { AclAction, AclEffect, AclRule, RuleOwner } from '../../auth/types';
import { PrincipalNotFoundError } from '../../store/errors';
import { action, commandGroup, finishGroup, withTargetOptions, type AdminDeps, type Open } from './context';
import { AdminFailureError, AdminInputError } from './errors';
import { parseArgument, parseOptions, PrincipalNameSchema } from './input';
import { formatTable, type Report } from './output';
import type { AdminStores } from './stores';

const OwnerOptions = { user: PrincipalNameSchema.optional(), group: PrincipalNameSchema.optional() };

const RuleIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a rule id as `stratus acl list` prints it');

const PatternSchema = z.string().superRefine((pattern, ctx) => {
  const problem = validateRulePattern(pattern);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

export function registerAclCommands(program: Command, deps: AdminDeps): void {
  const acl = commandGroup(program, deps, 'acl', 'manage topic access rules of users and groups (deny beats allow)');

  ownerOptions(
    withTargetOptions(
      acl
        .command('add')
        .description('add a rule and print its id; in PATTERN, %u is the username and %c the client id')
        .argument('<pattern>', "a topic filter, e.g. 'plant/%u/#', or a group to join, e.g. '$share/%u/jobs/#'"),
    ),
  )
    .option('--allow', 'the rule allows')
    .option('--deny', 'the rule denies')
    .option('--publish', 'the rule is about publishing')
    .option('--subscribe', 'the rule is about subscribing')
    .option('--both', 'the rule is about publishing and subscribing')
    .action(action(deps, (input, context) => addRule(input.args[0], input.options, deps, context.open)));

  ownerOptions(
    withTargetOptions(acl.command('remove').description('remove a rule by its id').argument('<id>', 'the rule id')),
  ).action(action(deps, (input, context) => removeRule(input.args[0], input.options, context.open)));

  ownerOptions(withTargetOptions(acl.command('list').description('list the rules of one owner, or of all')))
    .action(action(deps, (input, context) => listRules(input.options, context.open)));

  finishGroup(acl, deps);
}

function ownerOptions(command: Command): Command {
  return command
    .option('--user <name>', 'the rule belongs to this user')
    .option('--group <name>', `the rule belongs to this group ('anonymous': anonymous clients)`);
}

/** The one owner named by --user or --group; `required` false allows neither (acl list). */
function ownerOf(options: { user?: string; group?: string }, required: boolean): RuleOwner | undefined {
  if (options.user !== undefined && options.group !== undefined) {
    throw new AdminInputError('--user and --group exclude each other: a rule has one owner');
  }
  if (options.user !== undefined) return { kind: 'user', name: options.user };
  if (options.group !== undefined) return { kind: 'group', name: options.group };
  if (required) throw new AdminInputError('missing owner: pass --user NAME or --group NAME');
  return undefined;
}

function effectOf(options: { allow: boolean; deny: boolean }): AclEffect {
  if (options.allow === options.deny) throw new AdminInputError('pass exactly one of --allow and --deny');
  return options.allow ? 'allow' : 'deny';
}

function actionsOf(options: { publish: boolean; subscribe: boolean; both: boolean }): AclAction[] {
  const publish = options.publish || options.both;
  const subscribe = options.subscribe || options.both;
  if (!publish && !subscribe) throw new AdminInputError('missing action: pass --publish, --subscribe or --both');
  return [...(publish ? (['publish'] as const) : []), ...(subscribe ? (['subscribe'] as const) : [])];
}

async function addRule(rawPattern: unknown, raw: Record<string, unknown>, deps: AdminDeps, open: Open): Promise<Report> {
  const pattern = parseArgument(PatternSchema, rawPattern, 'PATTERN');
  const flag = z.boolean().default(false);
  const options = parseOptions(
    { ...OwnerOptions, allow: flag, deny: flag, publish: flag, subscribe: flag, both: flag },
    raw,
  );
  const owner = ownerOf(options, true) as RuleOwner;
  const rule: AclRule = { id: deps.newRuleId(), effect: effectOf(options), actions: actionsOf(options), pattern };
  const problem = validateAclRule(rule);
  if (problem !== undefined) throw new AdminInputError(`invalid rule: ${problem}`);
  const stores = await open(options);
  await stores.auth.addRule(owner, rule);
  return { json: ruleView(owner, rule), text: rule.id };
}

async function removeRule(rawId: unknown, raw: Record<string, unknown>, open: Open): Promise<Report> {
  const id = parseArgument(RuleIdSchema, rawId, 'ID');
  const options = parseOptions(OwnerOptions, raw);
  const owner = ownerOf(options, true) as RuleOwner;
  const stores = await open(options);
  if (!(await stores.auth.removeRule(owner, id))) {
    await assertOwnerExists(stores, owner);
    throw new AdminFailureError(`${owner.kind} ${owner.name} has no rule ${id} (see stratus acl list --${owner.kind} ${owner.name})`);
  }
  return { json: { owner, id, removed: true }, text: `rule ${id} of ${owner.kind} ${owner.name} removed` };
}

async function listRules(raw: Record<string, unknown>, open: Open): Promise<Report> {
  const options = parseOptions(OwnerOptions, raw);
  const owner = ownerOf(options, false);
  const stores = await open(options);
  if (owner !== undefined) await assertOwnerExists(stores, owner);
  const rules = await stores.auth.listRules(owner);
  return {
    json: rules.map((r) => ruleView(r.owner, r.rule)),
    text: formatTable(
      ['OWNER', 'ID', 'RULE'],
      rules.map((r) => [`${r.owner.kind} ${r.owner.name}`, r.rule.id, describeRule(r.rule)]),
      owner === undefined ? 'no rules' : `no rules for ${owner.kind} ${owner.name}`,
    ),
  };
}

async function assertOwnerExists(stores: AdminStores, owner: RuleOwner): Promise<void> {
  const found = owner.kind === 'user' ? await stores.auth.getUser(owner.name) : await stores.auth.getGroup(owner.name);
  if (found === undefined) throw new PrincipalNotFoundError(owner.kind, owner.name);
}

function ruleView(owner: RuleOwner, rule: AclRule) {
  return { owner: { kind: owner.kind, name: owner.name }, id: rule.id, effect: rule.effect, actions: [...rule.actions], pattern: rule.pattern };
}
