/**
 * A StratusStack with every prop changed from its default, in a concrete environment, synthesized
 * once without bundling (bundling is covered by stack.test.ts) and checked by cdk-nag. Its ingress
 * is direct: today's Lambda integrations, no queue.
 */
import { Duration, RemovalPolicy, type CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CORE_FUNCTION_IDS } from '../../lib/infra/access';
import { TABLE_IDS } from '../../lib/store/schema';
import { render } from './render';
import { expectedAlarmCount, synthStratus, type Synthesized } from './synth';

const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d';
type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

beforeEach(() => {
  expect.hasAssertions();
});

describe('StratusStack (every prop set, concrete environment)', () => {
  let s: Synthesized;
  const resources = (type: string) => Object.values(s.template.findResources(type)) as Resource[];
  const logicalId = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as CfnElement);

  beforeAll(() => {
    s = synthStratus(
      {
        env: { account: '123456789012', region: 'eu-west-1' },
        broker: {
          stageName: 'broker',
          customDomain: { domainName: 'mqtt.example.com', certificateArn: CERT },
          allowAnonymous: true,
          maxPacketSize: 65_536,
          maxSessionExpiry: Duration.hours(1),
          maxQueuedMessages: 10,
          memorySize: 512,
          architecture: Architecture.X86_64,
          logRetention: RetentionDays.ONE_WEEK,
          logLevel: 'warn',
          removalPolicy: RemovalPolicy.DESTROY,
          throttle: { rateLimit: 50, burstLimit: 20 },
          sweeperInterval: Duration.minutes(5),
          apiGatewayCloudWatchRole: false,
          ingress: 'direct',
          clientPublishRate: false,
          accountConcurrencyLimit: 200,
        },
      },
      { bundling: false, nag: true },
    );
  });
  afterAll(() => s?.cleanup());

  it('still passes cdk-nag (acknowledgements follow the stage name and the literal Region/account)', () => {
    expect(s.synthError).toBeUndefined();
    expect(s.violations).toEqual([]);
  });

  it('maps the custom domain at /{stageName} and prints its URL and DNS target', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'mqtt.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: CERT, EndpointType: 'REGIONAL' })],
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiMappingKey: 'broker',
      ApiId: { Ref: logicalId(s.stack.broker.api) },
      Stage: 'broker',
    });
    const outputs = s.template.findOutputs('*');
    expect(outputs.WebSocketUrl.Value).toBe('wss://mqtt.example.com/broker');
    expect(outputs.ConnectExample.Value).toBe("import { connect } from 'stratus-mqtt/client'; connect('wss://mqtt.example.com/broker')");
    expect(render(outputs.CustomDomainTarget.Value)).toMatch(/RegionalDomainName/);
  });

  it('keeps the management endpoint on the execute-api domain and the stage name', () => {
    const env = resources('AWS::Lambda::Function')[0].Properties.Environment.Variables;
    expect(render(env.STRATUS_MANAGEMENT_ENDPOINT)).toBe(`https://\${${logicalId(s.stack.broker.api)}}.execute-api.eu-west-1.\${AWS::URLSuffix}/broker`);
  });

  it('carries the limits and switches into the environment; Lambda still lets INFO through for EMF', () => {
    for (const fn of resources('AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({
        Architectures: ['x86_64'],
        MemorySize: 512,
        LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO' },
        Environment: {
          Variables: {
            STRATUS_ALLOW_ANONYMOUS: 'true',
            STRATUS_MAX_PACKET_SIZE: '65536',
            STRATUS_MAX_SESSION_EXPIRY: '3600',
            STRATUS_MAX_QUEUE: '10',
            STRATUS_LOG_LEVEL: 'warn',
          },
        },
      });
    }
    expect(resources('AWS::Lambda::Function')).toHaveLength(CORE_FUNCTION_IDS.length);
  });

  it('DESTROY: tables and log groups are deleted with the stack, without deletion protection', () => {
    const tables = resources('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(TABLE_IDS.length);
    for (const t of tables) {
      expect(t.DeletionPolicy).toBe('Delete');
      expect(t.Properties.DeletionProtectionEnabled).toBe(false);
    }
    const groups = resources('AWS::Logs::LogGroup');
    expect(groups).toHaveLength(CORE_FUNCTION_IDS.length + 1);
    for (const g of groups) {
      expect(g.DeletionPolicy).toBe('Delete');
      expect(g.Properties.RetentionInDays).toBe(7);
    }
  });

  it('throttles the stage and schedules the sweeper as configured', () => {
    const stages = resources('AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    expect(stages[0].Properties).toMatchObject({
      StageName: 'broker',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 20 },
    });
    expect(resources('AWS::Events::Rule').map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(5 minutes)']);
  });

  it('scopes @connections to the configured stage', () => {
    const resourcesOf = resources('AWS::IAM::Policy').flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((st) => [st.Action].flat().includes('execute-api:ManageConnections'))
        .flatMap((st) => [st.Resource].flat().map(render)),
    );
    expect(resourcesOf.length).toBeGreaterThan(0);
    for (const r of resourcesOf) expect(r).toMatch(/^arn:\$\{AWS::Partition\}:execute-api:eu-west-1:123456789012:\$\{\w+\}\/broker\/(POST|GET|DELETE)\/@connections\/\*$/);
  });

  it('direct ingress: Lambda proxy integrations for all three routes, each to its function', () => {
    const integrations = s.template.findResources('AWS::ApiGatewayV2::Integration') as Record<string, Resource>;
    const routeFunction = { $connect: 'connect', $disconnect: 'disconnect', $default: 'message' } as const;
    const routes = resources('AWS::ApiGatewayV2::Route');
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(['$connect', '$default', '$disconnect']);
    for (const route of routes) {
      const integrationId = render(route.Properties.Target).replace('integrations/', '').replace(/^\$\{|\}$/g, '');
      const integration = integrations[integrationId]!;
      expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
      expect(integration.Properties.CredentialsArn).toBeUndefined();
      const fn = s.stack.broker.functions[routeFunction[route.Properties.RouteKey as keyof typeof routeFunction]]!;
      expect(render(integration.Properties.IntegrationUri)).toContain(`\${${logicalId(fn)}.Arn}`);
    }
    const fromGateway = resources('AWS::Lambda::Permission').filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(fromGateway).toHaveLength(3);
  });

  it('direct ingress: no queue, no event source mapping, no send role, nothing of SQS in any policy', () => {
    expect(s.stack.broker.ingressQueue).toBeUndefined();
    expect(resources('AWS::SQS::Queue')).toEqual([]);
    expect(resources('AWS::SQS::QueuePolicy')).toEqual([]);
    expect(resources('AWS::Lambda::EventSourceMapping')).toEqual([]);
    const actions = resources('AWS::IAM::Policy').flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((st) => [st.Action].flat()),
    );
    expect(actions.filter((a) => a.startsWith('sqs:'))).toEqual([]);
    for (const role of resources('AWS::IAM::Role')) {
      expect(role.Properties.AssumeRolePolicyDocument.Statement.map((st: { Principal: { Service: string } }) => st.Principal.Service)).toEqual(['lambda.amazonaws.com']);
    }
  });

  it('direct ingress: the runtime is not told a maxReceiveCount, and no queue alarm exists; the gateway alarms stay', () => {
    for (const fn of resources('AWS::Lambda::Function')) expect(fn.Properties.Environment.Variables).not.toHaveProperty('STRATUS_INGRESS_MAX_RECEIVES');
    const metrics = resources('AWS::CloudWatch::Alarm').map((a) => a.Properties.MetricName);
    expect(metrics).not.toContain('ApproximateNumberOfMessagesVisible');
    expect(metrics).not.toContain('ApproximateAgeOfOldestMessage');
    // With direct ingress a failing message or disconnect function counts as an integration error.
    expect(metrics).toContain('IntegrationError');
    expect(metrics).toContain('ExecutionError');
  });

  it('clientPublishRate false: the message function is told 0 per second (off)', () => {
    const message = s.stack.broker.functions.message!;
    const env = (s.template.findResources('AWS::Lambda::Function')[logicalId(message)] as Resource).Properties.Environment.Variables;
    expect(env).toMatchObject({ STRATUS_PUBLISH_RATE_PER_SECOND: '0', STRATUS_PUBLISH_RATE_BURST: '0' });
  });

  it('alarms at 80 % of the account concurrency limit given', () => {
    const alarms = resources('AWS::CloudWatch::Alarm').filter((a) => a.Properties.MetricName === 'ConcurrentExecutions');
    expect(alarms.map((a) => [a.Properties.Namespace, a.Properties.Threshold])).toEqual([['AWS/Lambda', 160]]);
  });

  it('a custom domain without a hosted zone: no DNS record and no certificate of its own', () => {
    expect(resources('AWS::Route53::RecordSet')).toEqual([]);
    expect(resources('AWS::CertificateManager::Certificate')).toEqual([]);
    expect(s.stack.broker.aliasRecord).toBeUndefined();
  });

  it('without an alarm e-mail: no topic, alarms without actions; no account logging role when turned off', () => {
    expect(resources('AWS::SNS::Topic')).toEqual([]);
    const alarms = resources('AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(expectedAlarmCount(CORE_FUNCTION_IDS.length, 'direct', TABLE_IDS.length));
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toBeUndefined();
    expect(resources('AWS::ApiGateway::Account')).toEqual([]);
  });
});
