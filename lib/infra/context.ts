/**
 * The CDK context keys bin/app.ts reads (cdk.json, or `cdk deploy -c stratus:key=value`), validated
 * with zod: a bad value fails with one line naming the key. Values given with `-c` arrive as strings,
 * so booleans and numbers are accepted as strings too.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import type { MqttBrokerProps } from './props';
import { MAX_QUEUE_LIMIT, MAX_SESSION_EXPIRY_SECONDS, MIN_PACKET_SIZE } from './props-validation';
import { MAX_PACKET_BYTES } from '../api-gateway';
import { MAX_PUBLISH_BURST, MAX_PUBLISH_RATE } from './props-schemas';

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const int = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().min(min).max(max));
const num = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), z.number().min(min).max(max));
const RETENTION_DAYS = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');

/** Every context key, its schema and what it sets. */
export const CONTEXT_KEYS = {
  'stratus:stackName': z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name'),
  'stratus:stageName': z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, - and _'),
  'stratus:allowAnonymous': bool,
  'stratus:alarmEmail': z.email(),
  'stratus:domainName': z.string().min(1),
  'stratus:certificateArn': z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'an ACM certificate ARN'),
  'stratus:maxPacketSize': int(MIN_PACKET_SIZE, MAX_PACKET_BYTES),
  'stratus:maxSessionExpirySeconds': int(0, MAX_SESSION_EXPIRY_SECONDS),
  'stratus:maxQueuedMessages': int(0, MAX_QUEUE_LIMIT),
  'stratus:memorySize': int(128, 10_240),
  'stratus:architecture': z.enum(['arm64', 'x86_64']),
  'stratus:logRetentionDays': int(1, 9999).refine((d) => RETENTION_DAYS.includes(d), `one of ${RETENTION_DAYS.join(', ')}`),
  'stratus:logLevel': z.enum(['debug', 'info', 'warn', 'error']),
  'stratus:removalPolicy': z.enum(['retain', 'destroy']),
  'stratus:deletionProtection': bool,
  'stratus:throttleRateLimit': int(1, 10_000),
  'stratus:throttleBurstLimit': int(1, 5_000),
  'stratus:sweeperIntervalMinutes': int(1, 1440),
  'stratus:apiGatewayCloudWatchRole': bool,
  'stratus:ingress': z.enum(['ordered', 'direct']),
  'stratus:jwtIssuer': z.string().min(1),
  'stratus:jwtAudience': z.string().min(1),
  'stratus:jwtJwksUrl': z.url({ protocol: /^https$/ }),
  'stratus:jwtUsernameClaim': z.string().regex(/^[\x21-\x7e]{1,256}$/, 'a claim name without whitespace'),
  'stratus:hostedZoneId': z.string().regex(/^Z[A-Z0-9]{1,31}$/, 'a Route 53 hosted zone id (Z…)'),
  'stratus:hostedZoneName': z.string().min(1),
  'stratus:aliasRecord': bool,
  'stratus:domainBasePath': z.string().regex(/^[A-Za-z0-9$\-_.+!*'()]{0,300}$/, "letters, digits and $-_.+!*'() (empty: the root)"),
  'stratus:publishRatePerSecond': num(0, MAX_PUBLISH_RATE),
  'stratus:publishRateBurst': int(1, MAX_PUBLISH_BURST),
  'stratus:accountConcurrencyLimit': int(10, 1_000_000),
  'stratus:backup': bool,
  'stratus:backupRetentionDays': int(1, 36_500),
  'stratus:backupCopyVaultArn': z.string().regex(/^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_.-]{2,50}$/, 'a backup vault ARN'),
  'stratus:backupCopyRetentionDays': int(1, 36_500),
  'stratus:budgetMonthlyUsd': num(0.01, 1_000_000_000),
  'stratus:budgetEmail': z.email(),
} as const;

type ContextKey = keyof typeof CONTEXT_KEYS;
type ContextValues = { [K in ContextKey]?: z.output<(typeof CONTEXT_KEYS)[K]> };

export class InvalidContextError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid context ${key}: ${message}`);
    this.name = 'InvalidContextError';
  }
}

export interface AppContext {
  readonly stackName: string;
  readonly broker: MqttBrokerProps;
}

function parseKeys(get: (key: string) => unknown): ContextValues {
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(CONTEXT_KEYS)) {
    const raw = get(key);
    if (raw === undefined || raw === null) continue;
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (!parsed.success) throw new InvalidContextError(key, `${parsed.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(raw)})`);
    values[key] = parsed.data;
  }
  return values as ContextValues;
}

function hostedZone(v: ContextValues): { hostedZoneId: string; zoneName: string } | undefined {
  const hostedZoneId = v['stratus:hostedZoneId'];
  const zoneName = v['stratus:hostedZoneName'];
  if (hostedZoneId === undefined && zoneName === undefined) return undefined;
  if (hostedZoneId === undefined) throw new InvalidContextError('stratus:hostedZoneId', 'required when stratus:hostedZoneName is set');
  if (zoneName === undefined) throw new InvalidContextError('stratus:hostedZoneName', 'required when stratus:hostedZoneId is set');
  return { hostedZoneId, zoneName };
}

/** A domain with a certificate ARN, or with a hosted zone to create the certificate in (or both). */
function customDomain(v: ContextValues): MqttBrokerProps['customDomain'] {
  const domainName = v['stratus:domainName'];
  const certificateArn = v['stratus:certificateArn'];
  const zone = hostedZone(v);
  const others = ['stratus:certificateArn', 'stratus:hostedZoneId', 'stratus:aliasRecord', 'stratus:domainBasePath'] as const;
  const setting = others.find((key) => v[key] !== undefined);
  if (domainName === undefined) {
    if (setting !== undefined) throw new InvalidContextError('stratus:domainName', `required when ${setting} is set`);
    return undefined;
  }
  if (certificateArn === undefined && zone === undefined) {
    throw new InvalidContextError('stratus:certificateArn', 'required when stratus:domainName is set, unless stratus:hostedZoneId and stratus:hostedZoneName are');
  }
  return { domainName, certificateArn, hostedZone: zone, aliasRecord: v['stratus:aliasRecord'], basePath: v['stratus:domainBasePath'] };
}

/** `stratus:publishRatePerSecond` 0 turns the limit off; unset, the construct default applies. */
function clientPublishRate(v: ContextValues): MqttBrokerProps['clientPublishRate'] {
  const perSecond = v['stratus:publishRatePerSecond'];
  const burst = v['stratus:publishRateBurst'];
  if (perSecond === undefined) {
    if (burst !== undefined) throw new InvalidContextError('stratus:publishRatePerSecond', 'required when stratus:publishRateBurst is set');
    return undefined;
  }
  return perSecond === 0 ? false : { perSecond, burst };
}

function backup(v: ContextValues): MqttBrokerProps['backup'] {
  const retention = v['stratus:backupRetentionDays'];
  const copyToVaultArn = v['stratus:backupCopyVaultArn'];
  const copyRetention = v['stratus:backupCopyRetentionDays'];
  const detail = [retention, copyToVaultArn, copyRetention].some((x) => x !== undefined);
  if (v['stratus:backup'] !== true) {
    if (detail) throw new InvalidContextError('stratus:backup', 'must be true for the other stratus:backup… keys to apply');
    return undefined;
  }
  return { retention: days(retention), copyToVaultArn, copyRetention: days(copyRetention) };
}

function budget(v: ContextValues): MqttBrokerProps['budget'] {
  const monthlyUsd = v['stratus:budgetMonthlyUsd'];
  const email = v['stratus:budgetEmail'];
  if (monthlyUsd === undefined && email === undefined) return undefined;
  if (monthlyUsd === undefined) throw new InvalidContextError('stratus:budgetMonthlyUsd', 'required when stratus:budgetEmail is set');
  if (email === undefined) throw new InvalidContextError('stratus:budgetEmail', 'required when stratus:budgetMonthlyUsd is set');
  return { monthlyUsd, email };
}

function throttle(v: ContextValues): MqttBrokerProps['throttle'] {
  const rateLimit = v['stratus:throttleRateLimit'];
  const burstLimit = v['stratus:throttleBurstLimit'];
  return rateLimit === undefined && burstLimit === undefined ? undefined : { rateLimit, burstLimit };
}

/** Token authentication: issuer, audience and JWKS URL together, or none of them. */
function jwt(v: ContextValues): MqttBrokerProps['jwt'] {
  const issuer = v['stratus:jwtIssuer'];
  const audience = v['stratus:jwtAudience'];
  const jwksUrl = v['stratus:jwtJwksUrl'];
  const usernameClaim = v['stratus:jwtUsernameClaim'];
  if ([issuer, audience, jwksUrl, usernameClaim].every((x) => x === undefined)) return undefined;
  if (issuer === undefined) throw new InvalidContextError('stratus:jwtIssuer', 'required for token authentication');
  if (audience === undefined) throw new InvalidContextError('stratus:jwtAudience', 'required for token authentication');
  if (jwksUrl === undefined) throw new InvalidContextError('stratus:jwtJwksUrl', 'required for token authentication');
  return { issuer, audience, jwksUrl, usernameClaim };
}

const seconds = (n: number | undefined) => (n === undefined ? undefined : Duration.seconds(n));
const minutes = (n: number | undefined) => (n === undefined ? undefined : Duration.minutes(n));
const days = (n: number | undefined) => (n === undefined ? undefined : Duration.days(n));

/** Reads and validates every `stratus:` context key; throws InvalidContextError naming the key. */
export function readAppContext(get: (key: string) => unknown): AppContext {
  const v = parseKeys(get);
  const architecture = v['stratus:architecture'];
  const removal = v['stratus:removalPolicy'];
  const broker: MqttBrokerProps = {
    stageName: v['stratus:stageName'],
    customDomain: customDomain(v),
    allowAnonymous: v['stratus:allowAnonymous'],
    jwt: jwt(v),
    alarmEmail: v['stratus:alarmEmail'],
    maxPacketSize: v['stratus:maxPacketSize'],
    maxSessionExpiry: seconds(v['stratus:maxSessionExpirySeconds']),
    maxQueuedMessages: v['stratus:maxQueuedMessages'],
    memorySize: v['stratus:memorySize'],
    architecture: architecture === undefined ? undefined : architecture === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64,
    logRetention: v['stratus:logRetentionDays'] as RetentionDays | undefined,
    logLevel: v['stratus:logLevel'],
    removalPolicy: removal === undefined ? undefined : removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    deletionProtection: v['stratus:deletionProtection'],
    throttle: throttle(v),
    sweeperInterval: minutes(v['stratus:sweeperIntervalMinutes']),
    apiGatewayCloudWatchRole: v['stratus:apiGatewayCloudWatchRole'],
    ingress: v['stratus:ingress'],
    clientPublishRate: clientPublishRate(v),
    accountConcurrencyLimit: v['stratus:accountConcurrencyLimit'],
    backup: backup(v),
    budget: budget(v),
  };
  if (broker.removalPolicy === RemovalPolicy.DESTROY && broker.deletionProtection === true) {
    throw new InvalidContextError('stratus:deletionProtection', 'cannot be true with stratus:removalPolicy destroy');
  }
  return { stackName: v['stratus:stackName'] ?? 'Stratus', broker };
}
