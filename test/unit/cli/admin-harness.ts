/**
 * Runs admin commands in-process on memory stores, with captured stdout and stderr and a stdin
 * that is a pipe (or a fake terminal). Not a test file: the admin unit tests import it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runAdmin, type AdminDeps } from '../../../lib/cli/admin/index';
import type { AdminStores, DisconnectOutcome } from '../../../lib/cli/admin/stores';
import type { Target } from '../../../lib/cli/admin/target';
import { ListableMemoryRetainedStore, ListableMemorySessionStore } from '../../../lib/store/memory/admin-scan';
import { MemoryAuthStore } from '../../../lib/store/memory/auth-store';
import { MemoryConnectionStore } from '../../../lib/store/memory/connection-store';

export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

export interface MemoryAdmin {
  readonly auth: MemoryAuthStore;
  readonly sessions: ListableMemorySessionStore;
  readonly connections: MemoryConnectionStore;
  readonly retained: ListableMemoryRetainedStore;
  /** Connection ids closed through `disconnect`, in order */
  readonly kicked: string[];
  /** Connection ids that `disconnect` reports as gone */
  readonly gone: Set<string>;
  /** The targets the commands resolved, in order */
  readonly targets: Target[];
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Harness {
  readonly stores: MemoryAdmin;
  readonly cwd: string;
  /** Runs one command line; `stdin` is piped and closed, or typed at a fake terminal with `tty`. */
  run(argv: readonly string[], input?: { stdin?: string; tty?: boolean; env?: Record<string, string> }): Promise<RunResult>;
}

export function harness(options: { env?: Record<string, string>; cwd?: string } = {}): Harness {
  const clock = () => NOW;
  const stores: MemoryAdmin = {
    auth: new MemoryAuthStore(),
    sessions: new ListableMemorySessionStore({ clock }),
    connections: new MemoryConnectionStore({ clock }),
    retained: new ListableMemoryRetainedStore({ clock }),
    kicked: [],
    gone: new Set(),
    targets: [],
  };
  const adminStores: AdminStores = {
    auth: stores.auth,
    sessions: stores.sessions,
    connections: stores.connections,
    retained: stores.retained,
    // The memory stores have no 0.1 route keys to move (the DynamoDB migration: test/integration/store/route-migration.test.ts).
    subscriptions: { migrateRoutes: async () => ({ checked: 0, moved: 0 }) },
    disconnect: async (connectionId): Promise<DisconnectOutcome> => {
      if (stores.gone.has(connectionId)) return 'gone';
      stores.kicked.push(connectionId);
      return 'closed';
    },
    close: async () => undefined,
  };
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'stratus-admin-'));
  let ids = 0;
  return {
    stores,
    cwd,
    async run(argv, input = {}) {
      const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: (mode: boolean) => void };
      if (input.tty) {
        stdin.isTTY = true;
        stdin.setRawMode = () => undefined;
      }
      let stdout = '';
      let stderr = '';
      const deps: Partial<AdminDeps> = {
        io: {
          stdin,
          stdout: { write: (text: string) => (stdout += text) },
          stderr: { write: (text: string) => (stderr += text) },
        },
        env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', ...options.env, ...input.env },
        cwd,
        now: clock,
        newRuleId: () => `r${++ids}`,
        openStores: async (target) => {
          stores.targets.push(target);
          return adminStores;
        },
        describeStack: async () => {
          throw new Error('no stacks in unit tests');
        },
      };
      if (input.stdin !== undefined) {
        if (input.tty) setImmediate(() => stdin.write(input.stdin));
        else stdin.end(input.stdin);
      }
      const code = await runAdmin(argv, deps);
      return { code, stdout, stderr };
    },
  };
}

/** Every stderr line of a failed command: exactly one, starting `stratus: `. */
export const ONE_ERROR_LINE = /^stratus: [^\n]+\n$/;
