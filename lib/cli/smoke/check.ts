/**
 * The shape of one smoke check, its outcome, and the scope that bounds it: every socket and
 * client a check opens is registered with its scope and closed when the check ends, whether it
 * passed, failed or timed out, so no check can hang the run or leave a connection behind.
 */
import type { IntegrationErrorBody } from './frames';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckOutcome {
  readonly status: CheckStatus;
  /** One line: what was seen. */
  readonly detail: string;
  /** Machine-readable facts for `--json` (never a credential). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface CheckResult extends CheckOutcome {
  /** Stable id, e.g. `frame-boundary`. */
  readonly check: string;
  readonly title: string;
  readonly ms: number;
}

/** An API Gateway error message seen during the run, and where. */
export interface SeenIntegrationError {
  readonly check: string;
  readonly encoding: string;
  readonly body: IntegrationErrorBody;
}

/** What every check knows of the run. */
export interface SmokeContext {
  /** The WebSocket URL, the token (if any) in its query string. Never printed. */
  readonly url: string;
  /** The same URL without a token: what an anonymous client opens. */
  readonly anonymousUrl: string;
  readonly protocolVersion: 4 | 5;
  readonly username?: string;
  readonly password?: string;
  /** `<--prefix>/<run id>`: every topic of the run is under it. */
  readonly topicPrefix: string;
  /** Client ids are `<clientIdPrefix>-<n>`. */
  readonly clientIdPrefix: string;
  readonly burst: number;
  readonly timeoutMs: number;
  /** Expected answer to an anonymous client, and where the expectation comes from. */
  readonly expectAnonymous: { readonly value: 'refused' | 'allowed'; readonly source: string };
  /** Filled by every check that meets API Gateway's error message; read by the last check. */
  readonly integrationErrors: SeenIntegrationError[];
}

/** Something a check opened: closed (forcefully) when the check ends. */
export interface Closable {
  close(): void;
}

/** The failure of one step of a check; its message is the check's detail line. */
export class SmokeStepError extends Error {
  constructor(message: string, options?: { cause?: unknown; data?: Record<string, unknown> }) {
    super(message, options);
    this.name = 'SmokeStepError';
    this.data = options?.data;
  }
  readonly data: Record<string, unknown> | undefined;
}

/** The check did not finish in time. */
export class SmokeTimeoutError extends Error {
  constructor(readonly step: string, readonly timeoutMs: number) {
    super(`timed out after ${formatSeconds(timeoutMs)} waiting for ${step}`);
    this.name = 'SmokeTimeoutError';
  }
}

export class CheckScope {
  private readonly resources = new Set<Closable>();
  private current = 'the first step';
  private ended = false;
  private readonly endListeners = new Set<() => void>();

  constructor(readonly check: string) {}

  /** Names what the check waits for now (a timeout reports it). */
  step(text: string): void {
    this.current = text;
  }

  get currentStep(): string {
    return this.current;
  }

  /** Registers something to close when the check ends; closes it at once if it already has. */
  own<T extends Closable>(resource: T): T {
    if (this.ended) resource.close();
    else this.resources.add(resource);
    return resource;
  }

  /** Runs `listener` when the check ends (waits use it to stop). */
  onEnd(listener: () => void): () => void {
    if (this.ended) {
      listener();
      return () => undefined;
    }
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const resource of this.resources) {
      try {
        resource.close();
      } catch {
        // already closed
      }
    }
    this.resources.clear();
    for (const listener of this.endListeners) listener();
    this.endListeners.clear();
  }
}

export interface SmokeCheck {
  readonly id: string;
  readonly title: string;
  /** How long the check may take. @default ctx.timeoutMs */
  timeoutMs?(ctx: SmokeContext): number;
  run(ctx: SmokeContext, scope: CheckScope): Promise<CheckOutcome>;
}

/** The one place a thrown error becomes a check's outcome. */
export function outcomeOfError(error: unknown): CheckOutcome {
  if (error instanceof SmokeStepError) return { status: 'fail', detail: error.message, ...(error.data ? { data: error.data } : {}) };
  if (error instanceof SmokeTimeoutError) return { status: 'fail', detail: error.message, data: { timedOut: true, step: error.step } };
  const message = error instanceof Error ? error.message : String(error);
  return { status: 'fail', detail: `unexpected error: ${message.split('\n')[0]}` };
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

let clientCount = 0;

/** A fresh client id of the run: `<clientIdPrefix>-<n>`. */
export function nextClientId(ctx: SmokeContext): string {
  clientCount += 1;
  return `${ctx.clientIdPrefix}-${clientCount}`;
}

/** `0x87` */
export function hex(code: number): string {
  return `0x${code.toString(16).padStart(2, '0').toUpperCase()}`;
}
