/**
 * The MqttBroker construct's props, their defaults (small pure functions) and the validation that
 * turns conflicting props into an error in the constructor, before any resource exists.
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { MESSAGE_LIMIT_BYTES, MAX_PACKET_BYTES } from '../api-gateway';

/** The smallest packet limit worth advertising (a CONNECT with credentials must fit). */
export const MIN_PACKET_SIZE = 128;
/** MQTT 5 Session Expiry Interval is a four-byte integer, seconds. */
export const MAX_SESSION_EXPIRY_SECONDS = 0xffffffff;
export const MAX_QUEUE_LIMIT = 100_000;

export type StratusLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface CustomDomainProps {
  /** The domain clients connect to, e.g. `mqtt.example.com` */
  readonly domainName: string;
  /**
   * An ACM certificate for the domain, in the stack's Region.
   * @default - `certificateArn` must be given instead
   */
  readonly certificate?: ICertificate;
  /**
   * The ARN of an ACM certificate for the domain, in the stack's Region.
   * @default - `certificate` must be given instead
   */
  readonly certificateArn?: string;
}

export interface ThrottleProps {
  /**
   * Steady-state requests per second across the stage's routes.
   * @default 1000
   */
  readonly rateLimit?: number;
  /**
   * Burst size (token bucket) across the stage's routes.
   * @default 500
   */
  readonly burstLimit?: number;
}

/** Token authentication: JWTs from one issuer, verified against its JWKS. */
export interface JwtProps {
  /** The expected `iss` claim, e.g. `https://auth.example.com/` */
  readonly issuer: string;
  /** The expected `aud` claim (one of the token's audiences). */
  readonly audience: string;
  /** The issuer's JWKS endpoint, https. Fetched by the functions once per container, then cached. */
  readonly jwksUrl: string;
  /**
   * The claim holding the MQTT username.
   * @default 'sub'
   */
  readonly usernameClaim?: string;
}

export interface MqttBrokerProps {
  /**
   * The API Gateway stage name; also the URL path: `wss://{api}/{stageName}`, as local mode's
   * `ws://127.0.0.1:8083/mqtt`.
   * @default 'mqtt'
   */
  readonly stageName?: string;
  /**
   * A custom domain (API Gateway v2 DomainName plus an API mapping at path `{stageName}`).
   * @default - the execute-api domain only
   */
  readonly customDomain?: CustomDomainProps;
  /**
   * Accept clients that present no credentials. A deployed broker refuses anonymous clients
   * unless the operator opts in.
   * @default false
   */
  readonly allowAnonymous?: boolean;
  /**
   * Token authentication. Adds a Lambda REQUEST authorizer on `$connect` that verifies a JWT sent
   * as `?token=` or `Authorization: Bearer` (a request without a token still connects, and its
   * CONNECT packet authenticates it), and lets the CONNECT password be a JWT.
   * @default - no token authentication: usernames and passwords from the auth table only
   */
  readonly jwt?: JwtProps;
  /**
   * The MQTT capabilities advertised in a v5 CONNACK and enforced for every client (Receive
   * Maximum, Server Keep Alive, Topic Alias Maximum, Retain / Wildcard / Shared Subscription /
   * Subscription Identifiers Available, Maximum QoS). Validated here and again at cold start.
   * @default the broker's defaults: Receive Maximum 64, Server Keep Alive 540 s, Topic Alias
   * Maximum 0, everything available, Maximum QoS 2
   */
  readonly capabilities?: MqttCapabilities;
  /**
   * Largest MQTT packet accepted, bytes; advertised as Maximum Packet Size in a v5 CONNACK.
   * At most 98304: one 128 KB API Gateway message of base64.
   * @default 98304
   */
  readonly maxPacketSize?: number;
  /**
   * Longest session expiry the broker grants.
   * @default Duration.days(7)
   */
  readonly maxSessionExpiry?: Duration;
  /**
   * Most messages queued for one offline session.
   * @default 1000
   */
  readonly maxQueuedMessages?: number;
  /**
   * Memory of each Lambda function, MiB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Lambda instruction set.
   * @default Architecture.ARM_64
   */
  readonly architecture?: Architecture;
  /**
   * Retention of the functions' and the access log's log groups.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Application log level of the functions (`STRATUS_LOG_LEVEL` and Lambda's log filter).
   * @default 'info'
   */
  readonly logLevel?: StratusLogLevel;
  /**
   * What happens to the tables and log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on every table. Cannot be on with RemovalPolicy.DESTROY.
   * @default - true, unless removalPolicy is DESTROY
   */
  readonly deletionProtection?: boolean;
  /**
   * An e-mail address subscribed to the alarm topic (SNS). The subscription must be confirmed.
   * @default - no topic; alarms have no actions
   */
  readonly alarmEmail?: string;
  /**
   * Stage throttling, applied to every route.
   * @default { rateLimit: 1000, burstLimit: 500 }
   */
  readonly throttle?: ThrottleProps;
  /**
   * How often the sweeper runs: whole minutes, at least one.
   * @default Duration.minutes(1)
   */
  readonly sweeperInterval?: Duration;
  /**
   * Create the account-wide IAM role API Gateway uses to write logs, and set it in this Region's
   * API Gateway account settings (required for the stage's access log). Turn off if the account
   * already has one.
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
}

/** MQTT capabilities a deployment may change (see MqttBrokerProps.capabilities). */
export interface MqttCapabilities {
  /** QoS 1/2 publishes a client may have in flight to the broker, 1..65535. @default 64 */
  readonly receiveMaximum?: number;
  /** Keep Alive imposed on v5 clients, seconds, 1..65535; null: none. @default 540 */
  readonly serverKeepAlive?: number | null;
  /**
   * Inbound Topic Aliases accepted. Only 0 is allowed: API Gateway does not order a
   * connection's messages, so an alias could be used before the message defining it is handled.
   * @default 0
   */
  readonly topicAliasMaximum?: number;
  /** @default true */
  readonly retainAvailable?: boolean;
  /** @default true */
  readonly wildcardSubscriptionAvailable?: boolean;
  /** @default true */
  readonly sharedSubscriptionAvailable?: boolean;
  /** @default true */
  readonly subscriptionIdentifiersAvailable?: boolean;
  /** @default 2 */
  readonly maximumQoS?: 0 | 1 | 2;
}

/** Every prop with its default applied, validated. */
export interface ResolvedBrokerProps {
  readonly stageName: string;
  readonly customDomain?: CustomDomainProps;
  readonly allowAnonymous: boolean;
  readonly jwt?: Required<JwtProps>;
  readonly capabilities: MqttCapabilities;
  readonly maxPacketSize: number;
  readonly maxSessionExpirySeconds: number;
  readonly maxQueuedMessages: number;
  readonly memorySize: number;
  readonly architecture: Architecture;
  readonly logRetention: RetentionDays;
  readonly logLevel: StratusLogLevel;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly alarmEmail?: string;
  readonly throttle: Required<ThrottleProps>;
  readonly sweeperInterval: Duration;
  readonly apiGatewayCloudWatchRole: boolean;
}

/** A prop, or a combination of props, the construct refuses. */
export class InvalidBrokerPropsError extends Error {
  constructor(
    readonly prop: string,
    message: string,
  ) {
    super(`MqttBroker: ${prop}: ${message}`);
    this.name = 'InvalidBrokerPropsError';
  }
}

export const defaultStageName = (): string => 'mqtt';
export const defaultMaxPacketSize = (): number => MAX_PACKET_BYTES;
export const defaultMaxSessionExpiry = (): Duration => Duration.days(7);
export const defaultMaxQueuedMessages = (): number => 1000;
export const defaultMemorySize = (): number => 256;
export const defaultArchitecture = (): Architecture => Architecture.ARM_64;
export const defaultLogRetention = (): RetentionDays => RetentionDays.ONE_MONTH;
export const defaultRemovalPolicy = (): RemovalPolicy => RemovalPolicy.RETAIN;
export const defaultThrottle = (): Required<ThrottleProps> => ({ rateLimit: 1000, burstLimit: 500 });
export const defaultSweeperInterval = (): Duration => Duration.minutes(1);
export const defaultUsernameClaim = (): string => 'sub';
/** Deletion protection follows the removal policy unless set. */
export const defaultDeletionProtection = (removalPolicy: RemovalPolicy): boolean =>
  removalPolicy !== RemovalPolicy.DESTROY;

const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function check(condition: boolean, prop: string, message: string): asserts condition {
  if (!condition) throw new InvalidBrokerPropsError(prop, message);
}

function checkInt(value: number, prop: string, min: number, max: number): void {
  check(Number.isInteger(value) && value >= min && value <= max, prop, `must be an integer from ${min} to ${max}, got ${value}`);
}

function checkCustomDomain(domain: CustomDomainProps | undefined): void {
  if (!domain) return;
  check(DOMAIN_NAME.test(domain.domainName ?? ''), 'customDomain.domainName', `not a domain name: '${domain.domainName}'`);
  const given = Number(domain.certificate !== undefined) + Number(domain.certificateArn !== undefined);
  check(given === 1, 'customDomain', 'a custom domain needs exactly one of certificate or certificateArn');
}

/** A JWT claim name: printable, no whitespace. */
const CLAIM_NAME = /^[\x21-\x7e]{1,256}$/;

function checkJwt(jwt: Required<JwtProps> | undefined): void {
  if (!jwt) return;
  const literal = (value: string) => !Token.isUnresolved(value);
  check(typeof jwt.issuer === 'string' && jwt.issuer.length > 0, 'jwt.issuer', 'must be a non-empty string');
  check(typeof jwt.audience === 'string' && jwt.audience.length > 0, 'jwt.audience', 'must be a non-empty string');
  if (literal(jwt.jwksUrl)) {
    check(URL.canParse(jwt.jwksUrl ?? '') && new URL(jwt.jwksUrl).protocol === 'https:', 'jwt.jwksUrl', `must be an https URL, got '${jwt.jwksUrl}'`);
  }
  check(CLAIM_NAME.test(jwt.usernameClaim), 'jwt.usernameClaim', `must be a claim name without whitespace, got '${jwt.usernameClaim}'`);
}

function checkThrottle(throttle: Required<ThrottleProps>): void {
  checkInt(throttle.rateLimit, 'throttle.rateLimit', 1, 10_000);
  checkInt(throttle.burstLimit, 'throttle.burstLimit', 1, 5_000);
}

function checkRemoval(removalPolicy: RemovalPolicy, deletionProtection: boolean): void {
  check(removalPolicy !== RemovalPolicy.SNAPSHOT, 'removalPolicy', 'SNAPSHOT is not supported by DynamoDB tables or log groups');
  check(
    !(removalPolicy === RemovalPolicy.DESTROY && deletionProtection),
    'deletionProtection',
    'cannot be on with removalPolicy DESTROY: CloudFormation could not delete the tables',
  );
}

/** Applies the defaults and validates; throws InvalidBrokerPropsError naming the prop. */
export function resolveBrokerProps(props: MqttBrokerProps = {}): ResolvedBrokerProps {
  const removalPolicy = props.removalPolicy ?? defaultRemovalPolicy();
  const config: ResolvedBrokerProps = {
    stageName: props.stageName ?? defaultStageName(),
    customDomain: props.customDomain,
    allowAnonymous: props.allowAnonymous ?? false,
    jwt: props.jwt ? { ...props.jwt, usernameClaim: props.jwt.usernameClaim ?? defaultUsernameClaim() } : undefined,
    capabilities: props.capabilities ?? {},
    maxPacketSize: props.maxPacketSize ?? defaultMaxPacketSize(),
    maxSessionExpirySeconds: (props.maxSessionExpiry ?? defaultMaxSessionExpiry()).toSeconds(),
    maxQueuedMessages: props.maxQueuedMessages ?? defaultMaxQueuedMessages(),
    memorySize: props.memorySize ?? defaultMemorySize(),
    architecture: props.architecture ?? defaultArchitecture(),
    logRetention: props.logRetention ?? defaultLogRetention(),
    logLevel: props.logLevel ?? 'info',
    removalPolicy,
    deletionProtection: props.deletionProtection ?? defaultDeletionProtection(removalPolicy),
    alarmEmail: props.alarmEmail,
    throttle: { ...defaultThrottle(), ...props.throttle },
    sweeperInterval: props.sweeperInterval ?? defaultSweeperInterval(),
    apiGatewayCloudWatchRole: props.apiGatewayCloudWatchRole ?? true,
  };
  check(STAGE_NAME.test(config.stageName), 'stageName', `must match ${STAGE_NAME.source}, got '${config.stageName}'`);
  checkCustomDomain(config.customDomain);
  checkJwt(config.jwt);
  check(
    config.maxPacketSize <= MAX_PACKET_BYTES,
    'maxPacketSize',
    `at most ${MAX_PACKET_BYTES} bytes: API Gateway messages are at most ${MESSAGE_LIMIT_BYTES} bytes of base64`,
  );
  checkInt(config.maxPacketSize, 'maxPacketSize', MIN_PACKET_SIZE, MAX_PACKET_BYTES);
  checkCapabilities(config.capabilities);
  checkInt(config.maxSessionExpirySeconds, 'maxSessionExpiry', 0, MAX_SESSION_EXPIRY_SECONDS);
  checkInt(config.maxQueuedMessages, 'maxQueuedMessages', 0, MAX_QUEUE_LIMIT);
  checkInt(config.memorySize, 'memorySize', 128, 10_240);
  check(['debug', 'info', 'warn', 'error'].includes(config.logLevel), 'logLevel', `must be debug, info, warn or error, got '${config.logLevel}'`);
  checkRemoval(config.removalPolicy, config.deletionProtection);
  check(config.alarmEmail === undefined || EMAIL.test(config.alarmEmail), 'alarmEmail', `not an e-mail address: '${config.alarmEmail}'`);
  checkThrottle(config.throttle);
  const sweepMinutes = config.sweeperInterval.toSeconds() / 60;
  check(Number.isInteger(sweepMinutes) && sweepMinutes >= 1, 'sweeperInterval', 'must be a whole number of minutes, at least one');
  return config;
}

function checkCapabilities(c: MqttCapabilities): void {
  const at = (name: keyof MqttCapabilities) => `capabilities.${name}`;
  if (c.receiveMaximum !== undefined) checkInt(c.receiveMaximum, at('receiveMaximum'), 1, 65_535);
  if (c.serverKeepAlive !== undefined && c.serverKeepAlive !== null) checkInt(c.serverKeepAlive, at('serverKeepAlive'), 1, 65_535);
  // API Gateway does not order a connection's messages, so an alias could be used before it is defined.
  if (c.topicAliasMaximum !== undefined) checkInt(c.topicAliasMaximum, at('topicAliasMaximum'), 0, 0);
  if (c.maximumQoS !== undefined) check([0, 1, 2].includes(c.maximumQoS), at('maximumQoS'), `must be 0, 1 or 2, got ${c.maximumQoS}`);
}
