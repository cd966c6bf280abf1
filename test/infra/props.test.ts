/**
 * Props defaults and validation, the access table and the context keys: pure, no synthesis.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { Architecture, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { lambdaSystemLogLevel } from '../../lib/infra/functions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeEach, describe, expect, it } from 'vitest';
import { coreFunctionIds, deployedFunctionIds, FUNCTION_IDS, FUNCTION_SPECS, tableActions, type FunctionId } from '../../lib/infra/access';
import { InvalidContextError, readAppContext } from '../../lib/infra/context';
import { MqttBroker, publishRateEnvironment } from '../../lib/infra/mqtt-broker';
import type { MqttBrokerProps } from '../../lib/infra/props';
import { defaultDeletionProtection } from '../../lib/infra/props-defaults';
import { InvalidBrokerPropsError, resolveBrokerProps } from '../../lib/infra/props-validation';
import { TABLE_IDS, type TableId } from '../../lib/store/schema';
import { MAX_PACKET_BYTES } from '../../lib/api-gateway';

beforeEach(() => {
  expect.hasAssertions();
});

function propError(props: MqttBrokerProps): InvalidBrokerPropsError {
  try {
    resolveBrokerProps(props);
  } catch (error) {
    if (error instanceof InvalidBrokerPropsError) return error;
    throw error;
  }
  throw new Error('expected InvalidBrokerPropsError');
}

describe('MqttBroker props: defaults', () => {
  it('applies the documented defaults', () => {
    const config = resolveBrokerProps();
    expect(config).toMatchObject({
      stageName: 'mqtt',
      allowAnonymous: false,
      maxPacketSize: 98_304,
      maxSessionExpirySeconds: 7 * 24 * 3600,
      maxQueuedMessages: 1000,
      memorySize: 256,
      architecture: Architecture.ARM_64,
      logRetention: RetentionDays.ONE_MONTH,
      logLevel: 'info',
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
      throttle: { rateLimit: 1000, burstLimit: 500 },
      apiGatewayCloudWatchRole: true,
      ingress: 'ordered',
    });
    expect(config.sweeperInterval.toSeconds()).toBe(60);
    expect(config.customDomain).toBeUndefined();
    expect(config.alarmEmail).toBeUndefined();
  });

  it('the packet limit is what one 128 KB API Gateway message of base64 carries', () => {
    expect(MAX_PACKET_BYTES).toBe(((128 * 1024) / 4) * 3);
  });

  it('deletion protection follows the removal policy unless set', () => {
    expect(defaultDeletionProtection(RemovalPolicy.RETAIN)).toBe(true);
    expect(defaultDeletionProtection(RemovalPolicy.DESTROY)).toBe(false);
    expect(resolveBrokerProps({ removalPolicy: RemovalPolicy.DESTROY }).deletionProtection).toBe(false);
    expect(resolveBrokerProps({ deletionProtection: false }).deletionProtection).toBe(false);
  });

  it("Lambda's start and report lines only at the debug level (log ingestion cost)", () => {
    expect(lambdaSystemLogLevel('info')).toBe(SystemLogLevel.WARN);
    expect(lambdaSystemLogLevel('warn')).toBe(SystemLogLevel.WARN);
    expect(lambdaSystemLogLevel('debug')).toBe(SystemLogLevel.INFO);
  });

  it('merges a partial throttle with the defaults', () => {
    expect(resolveBrokerProps({ throttle: { rateLimit: 50 } }).throttle).toEqual({ rateLimit: 50, burstLimit: 500 });
  });
});

describe('MqttBroker props: invalid combinations throw naming the prop', () => {
  const cert = { certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' };
  it.each<[string, MqttBrokerProps]>([
    ['maxPacketSize', { maxPacketSize: 128 * 1024 }],
    ['maxPacketSize', { maxPacketSize: MAX_PACKET_BYTES + 1 }],
    ['maxPacketSize', { maxPacketSize: 64 }],
    ['maxPacketSize', { maxPacketSize: 1000.5 }],
    ['capabilities.receiveMaximum', { capabilities: { receiveMaximum: 0 } }],
    ['capabilities.serverKeepAlive', { capabilities: { serverKeepAlive: 70_000 } }],
    ['capabilities.maximumQoS', { capabilities: { maximumQoS: 3 as never } }],
    ['customDomain', { customDomain: { domainName: 'mqtt.example.com' } }],
    ['customDomain', { customDomain: { domainName: 'mqtt.example.com', ...cert, certificate: {} as never } }],
    ['customDomain.domainName', { customDomain: { domainName: 'not a domain', ...cert } }],
    ['deletionProtection', { removalPolicy: RemovalPolicy.DESTROY, deletionProtection: true }],
    ['removalPolicy', { removalPolicy: RemovalPolicy.SNAPSHOT }],
    ['stageName', { stageName: 'a/b' }],
    ['stageName', { stageName: '' }],
    ['alarmEmail', { alarmEmail: 'ops' }],
    ['throttle.rateLimit', { throttle: { rateLimit: 0 } }],
    ['throttle.burstLimit', { throttle: { burstLimit: 6000 } }],
    ['sweeperInterval', { sweeperInterval: Duration.seconds(90) }],
    ['sweeperInterval', { sweeperInterval: Duration.seconds(30) }],
    ['memorySize', { memorySize: 64 }],
    ['maxQueuedMessages', { maxQueuedMessages: -1 }],
    ['maxSessionExpiry', { maxSessionExpiry: Duration.seconds(0x1_0000_0000) }],
    ['logLevel', { logLevel: 'verbose' as never }],
    ['ingress', { ingress: 'fifo' as never }],
    ['clientPublishRate.perSecond', { clientPublishRate: { perSecond: 0 } }],
    ['clientPublishRate.perSecond', { clientPublishRate: { perSecond: 20_000 } }],
    ['clientPublishRate.burst', { clientPublishRate: { perSecond: 10, burst: 0 } }],
    ['clientPublishRate.burst', { clientPublishRate: { perSecond: 10, burst: 2.5 } }],
    ['clientPublishRate', { clientPublishRate: true as never }],
    ['accountConcurrencyLimit', { accountConcurrencyLimit: 5 }],
    ['accountConcurrencyLimit', { accountConcurrencyLimit: 100.5 }],
    ['customDomain.aliasRecord', { customDomain: { domainName: 'mqtt.example.com', ...cert, aliasRecord: true } }],
    ['customDomain.basePath', { customDomain: { domainName: 'mqtt.example.com', ...cert, basePath: 'a/b' } }],
    ['customDomain.hostedZone', { customDomain: { domainName: 'mqtt.example.com', hostedZone: { hostedZoneId: 'Z123', zoneName: 'example.org' } } }],
    ['customDomain.hostedZone.hostedZoneId', { customDomain: { domainName: 'mqtt.example.com', hostedZone: { hostedZoneId: 'nope', zoneName: 'example.com' } } }],
    ['customDomain.certificateArn', { customDomain: { domainName: 'mqtt.example.com', certificateArn: 'arn:aws:iam::123456789012:role/x' } }],
    ['backup.retention', { backup: { retention: Duration.hours(36) } }],
    ['backup.retention', { backup: { retention: Duration.days(0) } }],
    ['backup.copyToVaultArn', { backup: { copyToVaultArn: 'arn:aws:s3:::bucket' } }],
    ['backup.copyRetention', { backup: { copyRetention: 7 as never } }],
    ['budget.monthlyUsd', { budget: { monthlyUsd: 0, email: 'billing@example.com' } }],
    ['budget.email', { budget: { monthlyUsd: 10, email: 'billing' } }],
    ['budget.email', { budget: { monthlyUsd: 10 } as never }],
  ])('%s: %o', (prop, props) => {
    expect(propError(props).prop).toBe(prop);
  });

  it('clientPublishRate: on by default at 100 per second, burst 200; false turns it off; the burst defaults to twice the rate', () => {
    expect(resolveBrokerProps().clientPublishRate).toEqual({ perSecond: 100, burst: 200 });
    expect(resolveBrokerProps({ clientPublishRate: false }).clientPublishRate).toBe(false);
    expect(resolveBrokerProps({ clientPublishRate: { perSecond: 10 } }).clientPublishRate).toEqual({ perSecond: 10, burst: 20 });
    expect(resolveBrokerProps({ clientPublishRate: { perSecond: 0.2 } }).clientPublishRate).toEqual({ perSecond: 0.2, burst: 1 });
    expect(resolveBrokerProps({ clientPublishRate: { perSecond: 5, burst: 50 } }).clientPublishRate).toEqual({ perSecond: 5, burst: 50 });
  });

  it('the message function is told the rate as STRATUS_PUBLISH_RATE_PER_SECOND and _BURST, 0 when off', () => {
    const env = (props: MqttBrokerProps) => publishRateEnvironment(resolveBrokerProps(props));
    expect(env({})).toEqual({ STRATUS_PUBLISH_RATE_PER_SECOND: '100', STRATUS_PUBLISH_RATE_BURST: '200' });
    expect(env({ clientPublishRate: { perSecond: 0.5, burst: 3 } })).toEqual({ STRATUS_PUBLISH_RATE_PER_SECOND: '0.5', STRATUS_PUBLISH_RATE_BURST: '3' });
    expect(env({ clientPublishRate: false })).toEqual({ STRATUS_PUBLISH_RATE_PER_SECOND: '0', STRATUS_PUBLISH_RATE_BURST: '0' });
  });

  it('operational options are off by default; the concurrency limit defaults to 1000', () => {
    const config = resolveBrokerProps();
    expect(config.backup).toBeUndefined();
    expect(config.budget).toBeUndefined();
    expect(config.accountConcurrencyLimit).toBe(1000);
  });

  it('backup: 35 days by default, the copy kept as long unless set', () => {
    expect(resolveBrokerProps({ backup: {} }).backup).toEqual({ retention: Duration.days(35), copyToVaultArn: undefined, copyRetention: Duration.days(35) });
    const vault = 'arn:aws:backup:eu-central-1:123456789012:backup-vault:stratus-dr';
    const backup = resolveBrokerProps({ backup: { retention: Duration.days(7), copyToVaultArn: vault, copyRetention: Duration.days(90) } }).backup!;
    expect([backup.retention.toDays(), backup.copyToVaultArn, backup.copyRetention.toDays()]).toEqual([7, vault, 90]);
  });

  it('customDomain: a hosted zone alone is enough (the certificate is created in it)', () => {
    const domain = { domainName: 'mqtt.example.com', hostedZone: { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.com.' }, basePath: '' };
    expect(resolveBrokerProps({ customDomain: domain }).customDomain).toEqual(domain);
  });

  it('ingress: ordered or direct', () => {
    expect(resolveBrokerProps({ ingress: 'direct' }).ingress).toBe('direct');
    expect(resolveBrokerProps({ ingress: 'ordered' }).ingress).toBe('ordered');
  });

  it('accepts a custom domain with exactly one certificate', () => {
    expect(resolveBrokerProps({ customDomain: { domainName: 'mqtt.example.com', ...cert } }).customDomain?.domainName).toBe('mqtt.example.com');
    const stack = new Stack(new App(), 'S');
    const certificate = Certificate.fromCertificateArn(stack, 'C', cert.certificateArn);
    expect(resolveBrokerProps({ customDomain: { domainName: 'mqtt.example.com', certificate } }).customDomain?.certificate).toBe(certificate);
  });

  it('the constructor throws before creating any resource', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => new MqttBroker(stack, 'Broker', { maxPacketSize: 200_000 })).toThrow(InvalidBrokerPropsError);
    expect(() => new MqttBroker(stack, 'Broker2', { customDomain: { domainName: 'mqtt.example.com' } })).toThrow(/certificate/);
    expect(() => new MqttBroker(stack, 'Broker3', { removalPolicy: RemovalPolicy.DESTROY, deletionProtection: true })).toThrow(
      InvalidBrokerPropsError,
    );
    const created = stack.node.findAll().filter((c) => c !== stack && c.node.children.length > 0);
    expect(created).toEqual([]);
  });
});

describe('access table', () => {
  it('lists only real tables', () => {
    for (const fn of FUNCTION_IDS) {
      for (const table of Object.keys(FUNCTION_SPECS[fn].tables)) expect(TABLE_IDS).toContain(table);
    }
  });

  it('$connect only puts the new connection record and never calls @connections', () => {
    expect(TABLE_IDS.map((t) => [t, tableActions('connect', t)])).toEqual(TABLE_IDS.map((t) => [t, t === 'connections' ? ['PutItem'] : []]));
    expect(FUNCTION_SPECS.connect.connections).toEqual([]);
  });

  it('with ordered ingress the message function runs the disconnect path: it holds every grant of the disconnect function', () => {
    for (const t of [...TABLE_IDS, 'a-future-table' as TableId]) {
      expect(tableActions('message', t), t).toEqual(expect.arrayContaining([...tableActions('disconnect', t)]));
    }
    expect(FUNCTION_SPECS.message.connections).toEqual(expect.arrayContaining([...FUNCTION_SPECS.disconnect.connections]));
  });

  it('deploys the disconnect function with direct ingress only, the authorizer with token authentication only', () => {
    expect(coreFunctionIds('direct')).toEqual(['connect', 'disconnect', 'message', 'sweeper']);
    expect(coreFunctionIds('ordered')).toEqual(['connect', 'message', 'sweeper']);
    expect(deployedFunctionIds({ tokenAuthentication: true, ingress: 'ordered' })).toEqual(['connect', 'message', 'sweeper', 'authorizer']);
    expect(deployedFunctionIds({ tokenAuthentication: false, ingress: 'direct' })).toEqual(['connect', 'disconnect', 'message', 'sweeper']);
  });

  it('a table added to the schema but not listed yet gets each function\'s fallback actions', () => {
    const future = 'a-future-table' as TableId;
    expect(tableActions('connect', future)).toEqual([]);
    expect(tableActions('message', future)).toContain('PutItem');
    expect(tableActions('message', future)).not.toContain('Scan');
  });

  it('scans only where nothing else can serve: the sweeper over connections, and retained messages for a filter starting with a wildcard', () => {
    const scans = (fn: FunctionId, t: TableId) =>
      (fn === 'sweeper' && t === 'connections') || (fn !== 'connect' && fn !== 'authorizer' && t === 'retained');
    for (const fn of FUNCTION_IDS) {
      for (const t of TABLE_IDS) expect(tableActions(fn, t).includes('Scan'), `${fn} on ${t}`).toBe(scans(fn, t));
    }
  });
});

describe('context keys', () => {
  const read = (ctx: Record<string, unknown>) => readAppContext((key) => ctx[key]);
  function contextError(ctx: Record<string, unknown>): InvalidContextError {
    try {
      read(ctx);
    } catch (error) {
      if (error instanceof InvalidContextError) return error;
      throw error;
    }
    throw new Error('expected InvalidContextError');
  }

  it('no keys: stack "Stratus" and no overrides (the construct defaults apply)', () => {
    const ctx = read({});
    expect(ctx.stackName).toBe('Stratus');
    expect(Object.values(ctx.broker).filter((v) => v !== undefined)).toEqual([]);
  });

  it('accepts JSON values (cdk.json) and strings (-c key=value)', () => {
    const fromJson = read({
      'stratus:allowAnonymous': true,
      'stratus:maxPacketSize': 65536,
      'stratus:architecture': 'x86_64',
      'stratus:removalPolicy': 'destroy',
      'stratus:logRetentionDays': 7,
      'stratus:sweeperIntervalMinutes': 5,
      'stratus:maxSessionExpirySeconds': 3600,
    });
    const fromCli = read({
      'stratus:allowAnonymous': 'true',
      'stratus:maxPacketSize': '65536',
      'stratus:architecture': 'x86_64',
      'stratus:removalPolicy': 'destroy',
      'stratus:logRetentionDays': '7',
      'stratus:sweeperIntervalMinutes': '5',
      'stratus:maxSessionExpirySeconds': '3600',
    });
    for (const ctx of [fromJson, fromCli]) {
      expect(ctx.broker).toMatchObject({
        allowAnonymous: true,
        maxPacketSize: 65536,
        architecture: Architecture.X86_64,
        removalPolicy: RemovalPolicy.DESTROY,
        logRetention: RetentionDays.ONE_WEEK,
      });
      expect(ctx.broker.sweeperInterval?.toMinutes()).toBe(5);
      expect(ctx.broker.maxSessionExpiry?.toSeconds()).toBe(3600);
    }
  });

  it('stratus:ingress chooses the ingress mode; unset, the construct default (ordered) applies', () => {
    expect(read({ 'stratus:ingress': 'direct' }).broker.ingress).toBe('direct');
    expect(read({ 'stratus:ingress': 'ordered' }).broker.ingress).toBe('ordered');
    expect(read({}).broker.ingress).toBeUndefined();
    expect(resolveBrokerProps(read({}).broker).ingress).toBe('ordered');
  });

  it('builds a custom domain from domain name and certificate ARN', () => {
    const ctx = read({ 'stratus:domainName': 'mqtt.example.com', 'stratus:certificateArn': 'arn:aws:acm:eu-west-1:123456789012:certificate/1-2' });
    expect(ctx.broker.customDomain).toEqual({ domainName: 'mqtt.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/1-2' });
  });

  it('builds a custom domain from a hosted zone, with a root mapping and no alias record', () => {
    const ctx = read({
      'stratus:domainName': 'mqtt.example.com',
      'stratus:hostedZoneId': 'Z0123456789ABC',
      'stratus:hostedZoneName': 'example.com',
      'stratus:domainBasePath': '',
      'stratus:aliasRecord': 'false',
    });
    expect(ctx.broker.customDomain).toEqual({
      domainName: 'mqtt.example.com',
      hostedZone: { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.com' },
      basePath: '',
      aliasRecord: false,
    });
    expect(resolveBrokerProps(ctx.broker).customDomain?.basePath).toBe('');
  });

  it('sets the publish rate (0: off), the concurrency limit, a backup plan and a budget', () => {
    const ctx = read({
      'stratus:publishRatePerSecond': '2.5',
      'stratus:publishRateBurst': '10',
      'stratus:accountConcurrencyLimit': '400',
      'stratus:backup': 'true',
      'stratus:backupRetentionDays': '14',
      'stratus:backupCopyVaultArn': 'arn:aws:backup:eu-central-1:123456789012:backup-vault:dr',
      'stratus:budgetMonthlyUsd': '25.5',
      'stratus:budgetEmail': 'billing@example.com',
    });
    const config = resolveBrokerProps(ctx.broker);
    expect(config.clientPublishRate).toEqual({ perSecond: 2.5, burst: 10 });
    expect(config.accountConcurrencyLimit).toBe(400);
    expect(config.backup?.retention.toDays()).toBe(14);
    expect(config.backup?.copyToVaultArn).toBe('arn:aws:backup:eu-central-1:123456789012:backup-vault:dr');
    expect(config.budget).toEqual({ monthlyUsd: 25.5, email: 'billing@example.com' });
    expect(read({ 'stratus:publishRatePerSecond': 0 }).broker.clientPublishRate).toBe(false);
    expect(read({ 'stratus:backup': false }).broker.backup).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>]>([
    ['stratus:hostedZoneName', { 'stratus:domainName': 'mqtt.example.com', 'stratus:hostedZoneId': 'Z0123456789ABC' }],
    ['stratus:domainName', { 'stratus:hostedZoneId': 'Z0123456789ABC', 'stratus:hostedZoneName': 'example.com' }],
    ['stratus:hostedZoneId', { 'stratus:hostedZoneId': 'example.com' }],
    ['stratus:domainBasePath', { 'stratus:domainBasePath': 'a/b' }],
    ['stratus:publishRatePerSecond', { 'stratus:publishRatePerSecond': '-1' }],
    ['stratus:publishRatePerSecond', { 'stratus:publishRateBurst': '10' }],
    ['stratus:accountConcurrencyLimit', { 'stratus:accountConcurrencyLimit': '5' }],
    ['stratus:backup', { 'stratus:backupRetentionDays': '7' }],
    ['stratus:backupCopyVaultArn', { 'stratus:backup': 'true', 'stratus:backupCopyVaultArn': 'dr' }],
    ['stratus:budgetEmail', { 'stratus:budgetMonthlyUsd': '10' }],
    ['stratus:budgetMonthlyUsd', { 'stratus:budgetMonthlyUsd': 'ten', 'stratus:budgetEmail': 'billing@example.com' }],
    ['stratus:maxPacketSize', { 'stratus:maxPacketSize': '200000' }],
    ['stratus:maxPacketSize', { 'stratus:maxPacketSize': 'big' }],
    ['stratus:allowAnonymous', { 'stratus:allowAnonymous': 'yes' }],
    ['stratus:alarmEmail', { 'stratus:alarmEmail': 'ops' }],
    ['stratus:architecture', { 'stratus:architecture': 'arm' }],
    ['stratus:logRetentionDays', { 'stratus:logRetentionDays': 31 }],
    ['stratus:certificateArn', { 'stratus:domainName': 'mqtt.example.com' }],
    ['stratus:domainName', { 'stratus:certificateArn': 'arn:aws:acm:eu-west-1:123456789012:certificate/1-2' }],
    ['stratus:deletionProtection', { 'stratus:removalPolicy': 'destroy', 'stratus:deletionProtection': 'true' }],
    ['stratus:stackName', { 'stratus:stackName': '1stack' }],
    ['stratus:ingress', { 'stratus:ingress': 'fifo' }],
  ])('rejects %s with one line naming the key', (key, ctx) => {
    const error = contextError(ctx);
    expect(error.key).toBe(key);
    expect(error.message).toContain(key);
    expect(error.message).not.toContain('\n');
  });
});
