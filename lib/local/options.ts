/**
 * Options of the local gateway, validated once with zod. Defaults are API Gateway's published
 * limits (see /work/shared/AWS-FACTS.md), shortened by tests through the *Ms options.
 */
import { z } from 'zod';
import type { AuthorizerEvent, AuthorizerResult } from '../gateway/events';
import { createLogger, type Logger } from '../log';

export const localGatewayOptionsSchema = z.object({
  /** @default '127.0.0.1' */
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port; `start()` reports it. @default 8083 */
  port: z.number().int().min(0).max(65_535).default(8083),
  /** The stage name: the WebSocket path `/{stage}` and `@connections` under `/{stage}`. @default 'mqtt' */
  stage: z.string().regex(/^[A-Za-z0-9_-]+$/).default('mqtt'),
  /**
   * Behave exactly like API Gateway: binary frames close with 1003; frames over 32 KB, messages
   * over 128 KB and posts over 32 KB close with 1009. Lenient mode (false) also accepts binary
   * frames from stock MQTT-over-WebSocket clients, answers them in binary, and skips the size
   * limits except the 128 KB POST limit (413). @default false
   */
  strict: z.boolean().default(false),
  /** No message in either direction for this long closes the connection (1001). @default 10 min */
  idleTimeoutMs: z.number().int().positive().default(10 * 60_000),
  /** A connection is closed (1001) this long after it opened. @default 2 h */
  maxConnectionDurationMs: z.number().int().positive().default(2 * 60 * 60_000),
  /**
   * Random delay in [0, jitterMs) before each handler call (each batch in ordered mode), to
   * surface ordering races. @default 0
   */
  jitterMs: z.number().min(0).default(0),
  /** Probability (0..1) that a `$disconnect` is never delivered, as AWS allows. @default 0 */
  dropDisconnectRate: z.number().min(0).max(1).default(0),
  /**
   * How `$default` and `$disconnect` reach the handlers. 'ordered': as the deployed default, through
   * an SQS FIFO queue (one message group per connection) and an event source mapping, emulated in
   * process (ordered-ingress.ts): each connection's frames and close are handled in order, failures
   * are retried and end in a dead-letter list. 'direct': each frame and close is its own handler
   * call, concurrent and unordered, as API Gateway's Lambda integration. `$connect` is always
   * direct. @default 'ordered'
   */
  ingress: z.enum(['ordered', 'direct']).default('ordered'),
  /** Ordered ingress: batches handled at once (Lambda's concurrency on the queue). @default 4 */
  ingressConsumers: z.number().int().min(1).max(1000).default(4),
  /** Ordered ingress: how long a failed message stays invisible before its retry. @default 1000 */
  visibilityTimeoutMs: z.number().int().positive().default(1000),
  /**
   * Ordered ingress: receives of a message before the dead-letter list (the queue's
   * maxReceiveCount; the runtime's `maxReceives` must match). @default 5
   */
  maxReceiveCount: z.number().int().min(1).max(1000).default(5),
  /**
   * Ordered ingress: probability (0..1) that a frame is held and written to the queue right after
   * its connection's next frame, both at once, to exercise the consumer's restoring of order
   * (API Gateway does not document that it never swaps two frames before the queue). A held frame
   * goes alone after a short wait, or before the connection's close. @default 0
   */
  swapFraction: z.number().min(0).max(1).default(0),
  /** `requestContext.apiId` in events. @default 'local' */
  apiId: z.string().min(1).default('local'),
});

export type LocalGatewayConfig = z.output<typeof localGatewayOptionsSchema>;

/**
 * A Lambda REQUEST authorizer for `$connect`, with API Gateway's event and result shapes
 * (lib/gateway/events.ts). Throwing an Error whose message is `Unauthorized` is API Gateway's 401.
 */
export type LocalAuthorizer = (event: AuthorizerEvent) => Promise<AuthorizerResult>;

export type LocalGatewayOptions = z.input<typeof localGatewayOptionsSchema> & {
  /** Where the gateway logs. @default {@link stderrLogger} */
  readonly log?: Logger;
  /**
   * Called before `$connect`, as API Gateway calls a REQUEST authorizer attached to the route
   * (no identity sources: on every upgrade). Allow: `$connect` runs with `principalId`, the
   * context keys and `integrationLatency` in `requestContext.authorizer`. Deny (or no matching
   * Allow): the upgrade is refused with 403; thrown `Unauthorized`: 401; anything else: 500.
   * @default - no authorizer: `requestContext.authorizer` is absent
   */
  readonly authorizer?: LocalAuthorizer;
  /**
   * The draws of `dropDisconnectRate` and `jitterMs`, in [0, 1) (chaos runs pass a seeded one).
   * @default Math.random
   */
  readonly random?: () => number;
};

/** The gateway's own logger when none is given: one JSON line per entry on stderr. */
export const stderrLogger: Logger = createLogger({ write: (line) => process.stderr.write(`${line}\n`) }).child({
  component: 'local-gateway',
});

export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.name, errorMessage: error.message };
  return { error: String(error) };
}
