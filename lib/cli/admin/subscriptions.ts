/**
 * `stratus subscriptions migrate-routes`: moves subscriptions stored by Stratus 0.1 under the old
 * route keys (the filter's first level) to the current ones (lib/store/dynamodb/route-migration.ts),
 * so that publishes reach them again. Run it once, right after deploying 0.2 over 0.1; a rerun
 * moves nothing.
 */
import type { Command } from 'commander';
import { action, commandGroup, finishGroup, withTargetOptions, type AdminDeps, type Open } from './context';
import { parseOptions } from './input';
import type { Report } from './output';

export function registerSubscriptionCommands(program: Command, deps: AdminDeps): void {
  const subscriptions = commandGroup(program, deps, 'subscriptions', 'maintain the subscriptions table');
  withTargetOptions(
    subscriptions.command('migrate-routes').description('move subscriptions stored by 0.1 to the route keys of 0.2 (safe to rerun)'),
  ).action(action(deps, (input, context) => migrateRoutes(input.options, context.open)));
  finishGroup(subscriptions, deps);
}

async function migrateRoutes(raw: Record<string, unknown>, open: Open): Promise<Report> {
  const options = parseOptions({}, raw);
  const stores = await open(options);
  const result = await stores.subscriptions.migrateRoutes();
  return {
    json: result,
    text: `checked ${result.checked} subscription${result.checked === 1 ? '' : 's'}, moved ${result.moved} to their current route key`,
  };
}
