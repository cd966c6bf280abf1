/**
 * Broker configuration: the capabilities advertised in CONNACK and the limits the core enforces.
 * Read and validated once (zod) by the runtime; the core receives the parsed, frozen object in
 * `ctx.config`. Defaults come from `defaultBrokerConfig()`.
 */

import * as z from '../zod-mini';
import { MAX_PACKET_BYTES } from '../api-gateway';

/** The largest Four Byte Integer: a Session Expiry Interval of this value never expires. */
export const SESSION_NEVER_EXPIRES = 0xffff_ffff;

const brokerConfigShape = {
  /** Maximum Packet Size (bytes) advertised to v5 clients. @default 98304 (the ceiling) */
  maximumPacketSize: z.integer(1, MAX_PACKET_BYTES),
  /** Receive Maximum: QoS 1/2 publishes a client may have in flight to us. @default 64 */
  receiveMaximum: z.integer(1, 0xffff),
  /**
   * Topic Alias Maximum the server accepts. @default 0 (none). API Gateway does not keep the
   * order of a connection's messages, and an alias must be defined before it is used, so only
   * enable this behind an ordered path (SQS FIFO per connection).
   */
  topicAliasMaximum: z.integer(0, 0xffff),
  /**
   * Server Keep Alive (seconds) imposed when the client asks for 0 or for more. `null`: never
   * sent. @default 540: pings spaced just under API Gateway's 10-minute idle timeout.
   */
  serverKeepAlive: z.nullable(z.integer(1, 0xffff)),
  /** @default true */
  retainAvailable: z.boolean(),
  /** @default true */
  wildcardSubscriptionAvailable: z.boolean(),
  /** @default true */
  sharedSubscriptionAvailable: z.boolean(),
  /** @default true */
  subscriptionIdentifiersAvailable: z.boolean(),
  /** @default 2 */
  maximumQoS: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  /**
   * Longest Session Expiry Interval (seconds) granted: v5 requests above it are clamped (and the
   * client told), and it is the lifetime of a 3.1/3.1.1 persistent (Clean Session 0) session.
   * @default 604800 (7 days)
   */
  maximumSessionExpiryInterval: z.integer(0, SESSION_NEVER_EXPIRES),
  /** Accept a CONNECT that nothing identified (no user name, no principal). @default false */
  allowAnonymous: z.boolean(),
  /** Accept a zero-length client id and assign one [MQTT-3.1.3-6]. @default true */
  allowEmptyClientId: z.boolean(),
  /**
   * Longest client id accepted, in characters (code points), for 3.1.1 and 5.0. At least 23
   * [MQTT-3.1.3-5]; at most 512 so that it stays well inside a DynamoDB key. @default 256
   */
  maximumClientIdLength: z.integer(23, 512),
  /** Prefix of server-assigned client ids, followed by the connection id. @default 'auto-' */
  assignedClientIdPrefix: z.string().check(z.maxLength(64)),
};

/** Unknown keys refused: a misspelt capability is an error, not a default. */
const strictBrokerConfigSchema = z.strictObject(brokerConfigShape);

/**
 * The configuration's schema (unknown keys stripped); `.strict()` gives the one that refuses them,
 * which parseBrokerConfig uses, as classic zod's `.strict()` did.
 */
export const brokerConfigSchema = Object.assign(z.object(brokerConfigShape), {
  strict: () => strictBrokerConfigSchema,
});

export type BrokerConfig = Readonly<z.infer<typeof brokerConfigSchema>>;
export type BrokerConfigInput = Partial<z.input<typeof brokerConfigSchema>>;

/** The default configuration. */
export function defaultBrokerConfig(): BrokerConfig {
  return Object.freeze({
    maximumPacketSize: MAX_PACKET_BYTES,
    receiveMaximum: 64,
    topicAliasMaximum: 0,
    serverKeepAlive: 540,
    retainAvailable: true,
    wildcardSubscriptionAvailable: true,
    sharedSubscriptionAvailable: true,
    subscriptionIdentifiersAvailable: true,
    maximumQoS: 2 as const,
    maximumSessionExpiryInterval: 7 * 24 * 3600,
    allowAnonymous: false,
    allowEmptyClientId: true,
    maximumClientIdLength: 256,
    assignedClientIdPrefix: 'auto-',
  });
}

/** A configuration value that is out of range or of the wrong type. Not an MQTT error. */
export class InvalidBrokerConfigError extends Error {
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InvalidBrokerConfigError';
  }
}

/** Overrides on top of the defaults, validated. Throws InvalidBrokerConfigError. */
export function parseBrokerConfig(overrides: BrokerConfigInput = {}): BrokerConfig {
  const result = strictBrokerConfigSchema.safeParse({ ...defaultBrokerConfig(), ...overrides });
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new InvalidBrokerConfigError(`Invalid broker config: ${summary}`, issues, { cause: result.error });
  }
  return Object.freeze(result.data);
}
