/**
 * The defaults of the MqttBroker props, each a small pure function, and the props with them
 * applied (not yet validated: see ./props-validation).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { MAX_PACKET_BYTES } from '../api-gateway';
import type { BackupProps, IngressMode, JwtProps, MqttBrokerProps, PublishRateProps, ResolvedBackupProps, ResolvedBrokerProps, StratusLogLevel, ThrottleProps } from './props';

const defaultStageName = (): string => 'mqtt';
const defaultAllowAnonymous = (): boolean => false;
const defaultMaxPacketSize = (): number => MAX_PACKET_BYTES;
const defaultMaxSessionExpiry = (): Duration => Duration.days(7);
const defaultMaxQueuedMessages = (): number => 1000;
const defaultMemorySize = (): number => 256;
const defaultArchitecture = (): Architecture => Architecture.ARM_64;
const defaultLogRetention = (): RetentionDays => RetentionDays.ONE_MONTH;
const defaultLogLevel = (): StratusLogLevel => 'info';
const defaultRemovalPolicy = (): RemovalPolicy => RemovalPolicy.RETAIN;
const defaultThrottle = (): Required<ThrottleProps> => ({ rateLimit: 1000, burstLimit: 500 });
const defaultSweeperInterval = (): Duration => Duration.minutes(1);
const defaultApiGatewayCloudWatchRole = (): boolean => true;
const defaultUsernameClaim = (): string => 'sub';
const defaultIngress = (): IngressMode => 'ordered';
const defaultClientPublishRate = (): Required<PublishRateProps> => ({ perSecond: 100, burst: 200 });
const defaultAccountConcurrencyLimit = (): number => 1000;
const defaultBackupRetention = (): Duration => Duration.days(35);

/** A bucket of twice the rate, at least one packet. */
export const defaultBurst = (perSecond: number): number => Math.max(1, Math.ceil(2 * perSecond));

function publishRateWithDefaults(rate: PublishRateProps | false | undefined): Required<PublishRateProps> | false {
  if (rate === false) return false;
  if (rate === undefined) return defaultClientPublishRate();
  return { perSecond: rate.perSecond, burst: rate.burst ?? defaultBurst(rate.perSecond) };
}

function backupWithDefaults(backup: BackupProps | undefined): ResolvedBackupProps | undefined {
  if (!backup) return undefined;
  const retention = backup.retention ?? defaultBackupRetention();
  return { retention, copyToVaultArn: backup.copyToVaultArn, copyRetention: backup.copyRetention ?? retention };
}

/** Deletion protection follows the removal policy unless set. */
export const defaultDeletionProtection = (removalPolicy: RemovalPolicy): boolean =>
  removalPolicy !== RemovalPolicy.DESTROY;

function jwtWithDefaults(jwt: JwtProps | undefined): Required<JwtProps> | undefined {
  return jwt ? { ...jwt, usernameClaim: jwt.usernameClaim ?? defaultUsernameClaim() } : undefined;
}

/** Every prop that is not set gets its default. */
export function withDefaults(props: MqttBrokerProps): ResolvedBrokerProps {
  const removalPolicy = props.removalPolicy ?? defaultRemovalPolicy();
  return {
    stageName: props.stageName ?? defaultStageName(),
    customDomain: props.customDomain,
    allowAnonymous: props.allowAnonymous ?? defaultAllowAnonymous(),
    jwt: jwtWithDefaults(props.jwt),
    capabilities: props.capabilities ?? {},
    maxPacketSize: props.maxPacketSize ?? defaultMaxPacketSize(),
    maxSessionExpirySeconds: (props.maxSessionExpiry ?? defaultMaxSessionExpiry()).toSeconds(),
    maxQueuedMessages: props.maxQueuedMessages ?? defaultMaxQueuedMessages(),
    memorySize: props.memorySize ?? defaultMemorySize(),
    architecture: props.architecture ?? defaultArchitecture(),
    logRetention: props.logRetention ?? defaultLogRetention(),
    logLevel: props.logLevel ?? defaultLogLevel(),
    removalPolicy,
    deletionProtection: props.deletionProtection ?? defaultDeletionProtection(removalPolicy),
    alarmEmail: props.alarmEmail,
    throttle: { ...defaultThrottle(), ...props.throttle },
    sweeperInterval: props.sweeperInterval ?? defaultSweeperInterval(),
    apiGatewayCloudWatchRole: props.apiGatewayCloudWatchRole ?? defaultApiGatewayCloudWatchRole(),
    ingress: props.ingress ?? defaultIngress(),
    clientPublishRate: publishRateWithDefaults(props.clientPublishRate),
    accountConcurrencyLimit: props.accountConcurrencyLimit ?? defaultAccountConcurrencyLimit(),
    backup: backupWithDefaults(props.backup),
    budget: props.budget,
  };
}
