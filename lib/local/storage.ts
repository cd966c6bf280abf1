/**
 * What local mode keeps its state in, when it is not DynamoDB (Local): the stores behind the
 * handlers and how the runtime is built over them. `startLocalBroker({ storage })` uses it instead
 * of starting DynamoDB Local and creating the tables (lib/local/memory-store.ts: `--store memory`).
 */
import type { RuntimeSetup } from '../runtime/deps';
import type { RuntimeDeps } from '../runtime/types';

export interface LocalStorage {
  /** Where the state lives, shown where a DynamoDB endpoint would be (e.g. `memory:`). */
  readonly endpoint: string;
  /** The runtime over these stores; the setup's `tables` and `dynamodbEndpoint` do not apply. */
  createRuntime(setup: RuntimeSetup): RuntimeDeps;
  /** Releases the stores. Idempotent. */
  stop(): Promise<void>;
}
