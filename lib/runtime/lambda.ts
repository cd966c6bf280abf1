/**
 * The handlers as Lambda runs them: configuration read and validated once per container, SDK
 * clients created once and reused across invocations.
 */
import { ConfigurationError } from './config';
import { runtimeFromEnv } from './deps';
import { createHandlers } from './handlers';
import type { RouteHandlers, RuntimeDeps } from './types';
import { sweep, type SweepReport } from './sweeper';

let handlers: RouteHandlers | undefined;
let sweeperDeps: RuntimeDeps | undefined;

export function lambdaHandlers(): RouteHandlers {
  handlers ??= createHandlers(runtimeFromEnv());
  return handlers;
}

/** The scheduled sweeper. It has no event to take the `@connections` endpoint from. */
export function lambdaSweeper(): () => Promise<SweepReport> {
  if (!process.env.STRATUS_MANAGEMENT_ENDPOINT) {
    throw new ConfigurationError('invalid environment: STRATUS_MANAGEMENT_ENDPOINT: required by the sweeper');
  }
  sweeperDeps ??= runtimeFromEnv();
  const deps = sweeperDeps;
  return async () => {
    try {
      return await sweep(deps);
    } finally {
      deps.metrics.flush();
    }
  };
}
