/**
 * The MqttBroker construct's props: what an app may set, each readonly with its `@default`, and
 * the same props resolved. The defaults are in ./props-defaults, the validation in ./props-validation.
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { Architecture } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { HostedZoneAttributes, IHostedZone } from 'aws-cdk-lib/aws-route53';

export type StratusLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * How WebSocket frames reach the broker (docs/DEPLOY.md "Ingress").
 * - `ordered`: API Gateway writes each `$default` frame and each `$disconnect` into an SQS FIFO
 *   queue, one message group per connection, and the message function consumes it in batches: a
 *   connection's packets are handled one at a time in arrival order, a failing packet is retried in
 *   order and finally dead-lettered (with an alarm), and DISCONNECT is handled before the close.
 * - `direct`: API Gateway invokes the functions itself (Lambda proxy integrations), one invocation
 *   per frame: the lowest latency, but **unordered**: a connection's packets may be handled
 *   concurrently and out of order, and a packet whose handler fails is lost.
 */
export type IngressMode = 'ordered' | 'direct';

/**
 * A custom domain for the WebSocket API (docs/DEPLOY.md "Custom domain"). Clients connect to
 * `wss://{domainName}/{basePath}`; the functions keep calling `@connections` on the execute-api
 * endpoint. The certificate is `certificate`, or `certificateArn`, or, when neither is given, a new
 * ACM certificate validated by DNS in `hostedZone`.
 */
export interface CustomDomainProps {
  /** The domain clients connect to, e.g. `mqtt.example.com` */
  readonly domainName: string;
  /**
   * An ACM certificate for the domain, in the stack's Region.
   * @default - `certificateArn`, or a certificate created in `hostedZone`
   */
  readonly certificate?: ICertificate;
  /**
   * The ARN of an ACM certificate for the domain, in the stack's Region.
   * @default - `certificate`, or a certificate created in `hostedZone`
   */
  readonly certificateArn?: string;
  /**
   * The Route 53 public hosted zone that holds the domain (a zone, or its id and name). With it the
   * stack creates the certificate when none is given (DNS validation) and an alias record.
   * @default - no zone: a certificate must be given, and the DNS record is yours to create
   */
  readonly hostedZone?: IHostedZone | HostedZoneAttributes;
  /**
   * Create an A alias record for `domainName` in `hostedZone`, pointing at the API's domain.
   * @default - true when `hostedZone` is given
   */
  readonly aliasRecord?: boolean;
  /**
   * The path the stage is mapped at: `wss://{domainName}/{basePath}`; `''` maps it at the root,
   * `wss://{domainName}`.
   * @default - the stage name, as on the execute-api URL
   */
  readonly basePath?: string;
}

/** The per-client publish rate limit: a token bucket per connection (docs/DEPLOY.md "Per-client limits"). */
export interface PublishRateProps {
  /** PUBLISH packets one client may send per second, sustained (more than 0). */
  readonly perSecond: number;
  /**
   * The bucket size: PUBLISH packets one client may send at once after a quiet spell.
   * @default - twice `perSecond`, at least 1
   */
  readonly burst?: number;
}

/** An AWS Backup plan over the tables whose loss loses state (docs/DEPLOY.md "Backups"). */
export interface BackupProps {
  /**
   * How long each daily backup is kept.
   * @default Duration.days(35)
   */
  readonly retention?: Duration;
  /**
   * The ARN of a backup vault in another Region (same partition) to copy each backup to.
   * DynamoDB copies need AWS Backup's advanced features for DynamoDB turned on in the account.
   * @default - no copy
   */
  readonly copyToVaultArn?: string;
  /**
   * How long each copy is kept.
   * @default - `retention`
   */
  readonly copyRetention?: Duration;
}

/** An AWS Budgets cost budget with e-mail notifications (docs/DEPLOY.md "Budget"). */
export interface BudgetProps {
  /** The monthly amount, US dollars (the account's whole cost, not only this stack's). */
  readonly monthlyUsd: number;
  /** Who is told when actual cost passes the amount, or the forecast for the month does. */
  readonly email: string;
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
  /**
   * How WebSocket frames reach the broker: `ordered` through an SQS FIFO queue (a connection's
   * packets in order, retried, dead-lettered), or `direct` Lambda integrations (lowest latency,
   * unordered). See IngressMode.
   * @default 'ordered'
   */
  readonly ingress?: IngressMode;
  /**
   * The per-client publish rate limit, passed to the message function as
   * `STRATUS_PUBLISH_RATE_PER_SECOND` and `STRATUS_PUBLISH_RATE_BURST` (`0` per second: off).
   * A v5 client over it gets reason code 0x96 (Message rate too high); a 3.1.1 client is
   * disconnected. `false` turns it off.
   * @default { perSecond: 100, burst: 200 }
   */
  readonly clientPublishRate?: PublishRateProps | false;
  /**
   * The account's Lambda concurrency limit in this Region (Service Quotas, "Concurrent
   * executions"): the concurrency alarm fires at 80 % of it. New accounts may have less than 1000.
   * @default 1000
   */
  readonly accountConcurrencyLimit?: number;
  /**
   * A daily AWS Backup plan over the auth, retained and sessions tables, with an optional copy to a
   * vault in another Region.
   * @default - no backup plan (point-in-time recovery stays on, 35 days, in this Region)
   */
  readonly backup?: BackupProps;
  /**
   * An AWS Budgets monthly cost budget that e-mails on actual and forecast cost over the amount.
   * @default - no budget
   */
  readonly budget?: BudgetProps;
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
  readonly ingress: IngressMode;
  readonly clientPublishRate: Required<PublishRateProps> | false;
  readonly accountConcurrencyLimit: number;
  readonly backup?: ResolvedBackupProps;
  readonly budget?: BudgetProps;
}

export interface ResolvedBackupProps {
  readonly retention: Duration;
  readonly copyToVaultArn?: string;
  readonly copyRetention: Duration;
}
