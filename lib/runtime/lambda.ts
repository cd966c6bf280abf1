/**
 * The handlers as Lambda runs them: configuration read and validated once per container, SDK
 * clients created once and reused across invocations.
 */
import { ConfigurationError } from './config';
import { runtimeFromEnv } from './deps';
import { createHandlers } from './handlers';
import type { GatewayResult } from '../gateway/events';
import type { BatchResponse, RouteHandlers, RuntimeDeps } from './types';
import { sweep, type SweepReport } from './sweeper';

let handlers: RouteHandlers | undefined;
let sweeperDeps: RuntimeDeps | undefined;

export function lambdaHandlers(): RouteHandlers {
  handlers ??= createHandlers(runtimeFromEnv());
  return handlers;
}

/**
 * The message function: `$default` events with direct ingress, batches of the ingress queue with
 * ordered ingress (its event source mapping), told apart by their shape.
 */
export function lambdaMessageHandler(): (event: unknown) => Promise<GatewayResult | BatchResponse> {
  const routes = lambdaHandlers();
  return (event) => (isSqsBatch(event) ? routes.ingress(event) : routes.message(event));
}

function isSqsBatch(event: unknown): boolean {
  return typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);
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
