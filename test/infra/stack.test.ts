/**
 * The default StratusStack (plus an alarm e-mail), synthesized once with esbuild bundling and the
 * cdk-nag AwsSolutions plugin: routes, tables, functions, bundles, IAM, schedule, alarms, outputs.
 * The default ingress is ordered: the queue and its integrations are tested in ingress.test.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { coreFunctionIds, FUNCTION_SPECS, tableActions, type CoreFunctionId } from '../../lib/infra/access';
import { CLIENT_ERROR_MIN_COUNT, CLIENT_ERROR_PERCENT, CONCURRENCY_ALARM_PERCENT, tableOperations } from '../../lib/infra/alarms';
import { METRICS_NAMESPACE, METRIC_NAMES } from '../../lib/infra/metrics';
import { SWEEPER_MAX_EVENT_AGE } from '../../lib/infra/mqtt-broker';
import { TABLE_IDS, TABLE_SCHEMAS, tableEnvVar, type TableId } from '../../lib/store/schema';
import { render, renderStatement, type RenderedStatement } from './render';
import { expectedAlarmCount, missingEntries, synthStratus, type Synthesized } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

/** The functions of the default (ordered ingress) stack: no disconnect function. */
const CORE_FUNCTION_IDS = coreFunctionIds('ordered');

beforeEach(() => {
  expect.hasAssertions();
});

it('every function has its entry point in functions/', () => {
  expect(missingEntries()).toEqual([]);
});

describe('StratusStack (default props, bundled, cdk-nag)', () => {
  let s: Synthesized;
  const logicalId = (construct: { node: { defaultChild?: unknown } }): string =>
    s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const resources = (type: string): Record<string, Resource> => s.template.findResources(type) as Record<string, Resource>;
  const tableId = (id: TableId) => logicalId(s.stack.broker.tables[id]);
  const apiId = () => logicalId(s.stack.broker.api);
  const fnOf = (id: CoreFunctionId) => {
    const fn = s.stack.broker.functions[id];
    if (!fn) throw new Error(`no ${id} function`);
    return fn;
  };
  const functionId = (id: CoreFunctionId) => logicalId(fnOf(id));

  function statementsOf(fn: CoreFunctionId): RenderedStatement[] {
    const roleId = logicalId(fnOf(fn).role as never);
    return Object.values(resources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as Record<string, unknown>[]).map(renderStatement));
  }

  beforeAll(() => {
    s = synthStratus({ broker: { alarmEmail: 'ops@example.com' } }, { bundling: true, nag: true });
  });
  afterAll(() => s?.cleanup());

  describe('cdk-nag AwsSolutions', () => {
    it('passes with no errors and no warnings left after the acknowledged findings', () => {
      expect(s.synthError).toBeUndefined();
      expect(s.violations).toEqual([]);
    });
  });

  describe('WebSocket API', () => {
    it('is a WebSocket API', () => {
      expect(Object.values(resources('AWS::ApiGatewayV2::Api')).map((r) => r.Properties.ProtocolType)).toEqual(['WEBSOCKET']);
    });

    it('has exactly the $connect, $disconnect and $default routes', () => {
      const keys = Object.values(resources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
      expect(keys.sort()).toEqual(['$connect', '$default', '$disconnect']);
    });

    it('$connect returns its integration response to the client (route response)', () => {
      const [connectId, connect] = Object.entries(resources('AWS::ApiGatewayV2::Route')).find(([, r]) => r.Properties.RouteKey === '$connect')!;
      expect(connect.Properties.RouteResponseSelectionExpression).toBe('$default');
      s.template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', 1);
      s.template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
        RouteId: { Ref: connectId },
        RouteResponseKey: '$default',
        ApiId: { Ref: apiId() },
      });
    });

    it('has no authorizer without token authentication: $connect is open, the CONNECT packet authenticates', () => {
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
      expect(s.stack.broker.functions.authorizer).toBeUndefined();
      for (const r of Object.values(resources('AWS::ApiGatewayV2::Route'))) expect(r.Properties.AuthorizerId).toBeUndefined();
    });

    it('$disconnect and $default send no route response', () => {
      const others = Object.values(resources('AWS::ApiGatewayV2::Route')).filter((r) => r.Properties.RouteKey !== '$connect');
      expect(others).toHaveLength(2);
      for (const r of others) expect(r.Properties.RouteResponseSelectionExpression).toBeUndefined();
    });

    it('routes $connect to the connect function (Lambda proxy), $default and $disconnect to the ingress queue (AWS integrations)', () => {
      const integrations = resources('AWS::ApiGatewayV2::Integration');
      const types: Record<string, string> = {};
      for (const route of Object.values(resources('AWS::ApiGatewayV2::Route'))) {
        const integrationId = render(route.Properties.Target).replace('integrations/', '').replace(/^\$\{|\}$/g, '');
        const integration = integrations[integrationId];
        types[route.Properties.RouteKey] = integration.Properties.IntegrationType;
        if (route.Properties.RouteKey === '$connect') expect(render(integration.Properties.IntegrationUri)).toContain(`\${${functionId('connect')}.Arn}`);
        else expect(render(integration.Properties.IntegrationUri)).toContain(':sqs:path/');
      }
      expect(types).toEqual({ $connect: 'AWS_PROXY', $default: 'AWS', $disconnect: 'AWS' });
    });

    it('has a stage named mqtt, auto-deployed, throttled, with a JSON access log', () => {
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: 'mqtt',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 500 },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [logicalId(s.stack.node.findChild('Broker').node.findChild('AccessLogs') as never), 'Arn'] },
          Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
        },
      });
      const format = JSON.parse(Object.values(resources('AWS::ApiGatewayV2::Stage'))[0].Properties.AccessLogSettings.Format);
      expect(format).toMatchObject({ connectionId: '$context.connectionId', routeKey: '$context.routeKey', status: '$context.status' });
    });

    it('sets the API Gateway account logging role (required for WebSocket access logs) and keeps it', () => {
      const accounts = resources('AWS::ApiGateway::Account');
      expect(Object.keys(accounts)).toHaveLength(1);
      const [accountId, account] = Object.entries(accounts)[0];
      expect(account.DeletionPolicy).toBe('Retain');
      const stage = Object.values(s.template.findResources('AWS::ApiGatewayV2::Stage'))[0] as { DependsOn?: string[] };
      expect(stage.DependsOn).toContain(accountId);
    });
  });

  describe('tables', () => {
    it('creates one table per schema, and only those', () => {
      expect(Object.keys(resources('AWS::DynamoDB::Table')).sort()).toEqual(TABLE_IDS.map(tableId).sort());
    });

    it.each(TABLE_IDS)('%s: keys, TTL, on-demand, PITR, AWS-managed encryption, deletion protection, retained', (id) => {
      const schema = TABLE_SCHEMAS[id];
      const table = resources('AWS::DynamoDB::Table')[tableId(id)];
      const keys = [{ AttributeName: schema.partitionKey.name, KeyType: 'HASH' }];
      if (schema.sortKey) keys.push({ AttributeName: schema.sortKey.name, KeyType: 'RANGE' });
      expect(table.Properties).toMatchObject({
        KeySchema: keys,
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: schema.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      });
      expect(table.Properties.AttributeDefinitions).toContainEqual({ AttributeName: schema.partitionKey.name, AttributeType: schema.partitionKey.type });
      expect(table.Properties.GlobalSecondaryIndexes?.length ?? 0).toBe(schema.globalSecondaryIndexes?.length ?? 0);
      expect(table.DeletionPolicy).toBe('Retain');
    });
  });

  describe('functions', () => {
    it('creates one function per deployed entry point (no disconnect function with ordered ingress), Node.js 22 on arm64, JSON logs', () => {
      const fns = resources('AWS::Lambda::Function');
      for (const id of CORE_FUNCTION_IDS) {
        expect(fns[functionId(id)].Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: 256,
          LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
        });
      }
      expect(Object.keys(fns)).toHaveLength(CORE_FUNCTION_IDS.length);
    });

    it.each(CORE_FUNCTION_IDS)('%s gets the runtime environment contract', (id) => {
      const env = resources('AWS::Lambda::Function')[functionId(id)].Properties.Environment.Variables as Record<string, unknown>;
      for (const t of TABLE_IDS) expect(env[tableEnvVar(t)]).toEqual({ Ref: tableId(t) });
      expect(render(env.STRATUS_MANAGEMENT_ENDPOINT)).toBe(`https://\${${apiId()}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/mqtt`);
      expect(env).toMatchObject({
        STRATUS_ALLOW_ANONYMOUS: 'false',
        STRATUS_MAX_PACKET_SIZE: '98304',
        STRATUS_MAX_SESSION_EXPIRY: '604800',
        STRATUS_MAX_QUEUE: '1000',
        STRATUS_LOG_LEVEL: 'info',
        NODE_OPTIONS: '--enable-source-maps',
      });
      if (id === 'message') {
        // The per-client publish rate limit, default { perSecond: 100, burst: 200 }: only the function that handles MQTT packets.
        expect(env).toMatchObject({ STRATUS_PUBLISH_RATE_PER_SECOND: '100', STRATUS_PUBLISH_RATE_BURST: '200' });
      } else {
        expect(env).not.toHaveProperty('STRATUS_PUBLISH_RATE_PER_SECOND');
        expect(env).not.toHaveProperty('STRATUS_PUBLISH_RATE_BURST');
      }
    });

    it('each function writes to its own log group, with retention, through its own role', () => {
      const groups = resources('AWS::Logs::LogGroup');
      for (const id of CORE_FUNCTION_IDS) {
        const fn = resources('AWS::Lambda::Function')[functionId(id)];
        const groupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
        expect(groups[groupId].Properties.RetentionInDays).toBe(30);
      }
    });

    it('bundles each entry locally into a minified ESM file with a source map', () => {
      for (const id of CORE_FUNCTION_IDS) {
        const assetPath = (fnOf(id).node.findChild('Code') as unknown as { assetPath?: string }).assetPath;
        const dir = assetPath ? join(s.outdir, assetPath) : '';
        expect(existsSync(join(dir, 'index.mjs')), `bundle of ${id}`).toBe(true);
        expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
        const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
        expect(code.length / code.split('\n').length, 'average line length of a minified bundle').toBeGreaterThan(1000);
        expect(statSync(join(dir, 'index.mjs')).size).toBeLessThan(3 * 1024 * 1024);
      }
      expect(readdirSync(s.outdir).filter((f) => f.startsWith('asset.')).length).toBeGreaterThanOrEqual(1);
    });
  });

  describe('IAM', () => {
    it.each(CORE_FUNCTION_IDS)('%s: exactly its listed table actions, on those tables only', (fn) => {
      const statements = statementsOf(fn).filter((st) => st.actions.some((a) => a.startsWith('dynamodb:')));
      for (const t of TABLE_IDS) {
        const onTable = statements.filter((st) => st.resources.includes(`\${${tableId(t)}.Arn}`));
        const granted = onTable.flatMap((st) => st.actions).sort();
        expect(granted, `${fn} on ${t}`).toEqual(tableActions(fn, t).map((a) => `dynamodb:${a}`).sort());
      }
      for (const st of statements) {
        for (const r of st.resources) expect(r).toMatch(/^\$\{[A-Za-z0-9]+\.Arn\}(\/index\/[A-Za-z0-9_.-]+)?$/);
      }
    });

    it.each(CORE_FUNCTION_IDS)('%s: ManageConnections only on this API and stage, per method', (fn) => {
      const statements = statementsOf(fn).filter((st) => st.actions.includes('execute-api:ManageConnections'));
      const expected = FUNCTION_SPECS[fn].connections.map(
        (m) => `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${apiId()}}/mqtt/${m}/@connections/*`,
      );
      expect(statements.flatMap((st) => st.resources).sort()).toEqual(expected.sort());
    });

    it('the sweeper may Query the sessions sweep index, to find due wills without a scan', () => {
      const onIndex = statementsOf('sweeper').filter((st) =>
        st.resources.includes(`\${${tableId('sessions')}.Arn}/index/sweep`),
      );
      expect(onIndex.flatMap((st) => st.actions)).toContain('dynamodb:Query');
    });

    it('connect may not call @connections at all', () => {
      expect(statementsOf('connect').some((st) => st.actions.some((a) => a.startsWith('execute-api:')))).toBe(false);
    });

    it("function roles may write only their own log group's streams", () => {
      for (const fn of CORE_FUNCTION_IDS) {
        const logs = statementsOf(fn).filter((st) => st.actions.some((a) => a.startsWith('logs:')));
        const fnRes = resources('AWS::Lambda::Function')[functionId(fn)];
        expect(logs.flatMap((st) => st.resources)).toEqual([`\${${fnRes.Properties.LoggingConfig.LogGroup.Ref}.Arn}`]);
        expect(logs.flatMap((st) => st.actions).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      }
    });

    it('no policy anywhere grants on a bare "*" resource, and only allows', () => {
      const policies = Object.values(resources('AWS::IAM::Policy'));
      expect(policies.length).toBeGreaterThanOrEqual(CORE_FUNCTION_IDS.length);
      for (const policy of policies) {
        for (const st of (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).map(renderStatement)) {
          expect(st.effect).toBe('Allow');
          expect(st.resources).not.toContain('*');
          expect(st.actions.every((a) => !a.endsWith(':*') && a !== '*')).toBe(true);
        }
      }
    });

    it('function roles carry no managed policies; only the API Gateway logging role does', () => {
      const withManaged = Object.entries(resources('AWS::IAM::Role')).filter(([, r]) => r.Properties.ManagedPolicyArns);
      expect(withManaged.map(([id]) => id)).toEqual([logicalId(s.stack.broker.node.findChild('ApiGatewayCloudWatchRole') as never)]);
    });
  });

  describe('sweeper schedule', () => {
    it(`never retries nor delivers a run late, so sweeps do not overlap: rule target and Lambda async config, 0 retries, ${SWEEPER_MAX_EVENT_AGE.toSeconds()} s`, () => {
      expect(SWEEPER_MAX_EVENT_AGE.toSeconds()).toBe(60);
      const [rule] = Object.values(resources('AWS::Events::Rule'));
      expect(rule!.Properties.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
      const configs = Object.values(resources('AWS::Lambda::EventInvokeConfig'));
      expect(configs).toHaveLength(1);
      expect(configs[0]!.Properties).toMatchObject({
        FunctionName: { Ref: functionId('sweeper') },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 60,
      });
    });

    it('invokes the sweeper every minute', () => {
      const sweeperArn = { 'Fn::GetAtt': [functionId('sweeper'), 'Arn'] };
      const rules = Object.values(resources('AWS::Events::Rule'));
      expect(rules).toHaveLength(1);
      expect(rules[0].Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
      expect(rules[0].Properties.Targets).toEqual([expect.objectContaining({ Arn: sweeperArn })]);
      const fromEvents = Object.values(resources('AWS::Lambda::Permission')).filter((p) => p.Properties.Principal === 'events.amazonaws.com');
      expect(fromEvents.map((p) => p.Properties.FunctionName)).toEqual([sweeperArn]);
    });
  });

  describe('alarms and dashboard', () => {
    const alarmsOn = (metricName: string) => Object.values(resources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === metricName);
    /** Alarms on a metric math expression, with the metrics the expression uses (by id). */
    const mathAlarms = () =>
      Object.values(resources('AWS::CloudWatch::Alarm'))
        .filter((a) => a.Properties.Metrics)
        .map((a) => {
          const metrics = a.Properties.Metrics as { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: unknown }[] } } }[];
          return { alarm: a, expression: metrics.find((m) => m.Expression)!, inputs: metrics.filter((m) => m.MetricStat).map((m) => ({ id: m.Id, ...m.MetricStat!.Metric })) };
        });

    it('alarms on errors and throttles of every function, on delivery errors and on the ingress queue, all to the topic', () => {
      const alarms = Object.values(resources('AWS::CloudWatch::Alarm'));
      // The ingress queue's two (dead letters, age): ingress.test.ts
      expect(alarms).toHaveLength(expectedAlarmCount(CORE_FUNCTION_IDS.length, 'ordered', TABLE_IDS.length));
      const topicId = logicalId(s.stack.broker.alarmTopic!);
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      for (const id of CORE_FUNCTION_IDS) {
        for (const metric of ['Errors', 'Throttles']) {
          s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(id) } }],
          });
        }
      }
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC_NAMES.deliveryErrors,
        Statistic: 'Sum',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      });
    });

    it('alarms on any integration error and any execution error of the stage', () => {
      for (const metric of ['IntegrationError', 'ExecutionError']) {
        const alarms = alarmsOn(metric);
        expect(alarms, metric).toHaveLength(1);
        expect(alarms[0]!.Properties).toMatchObject({
          Namespace: 'AWS/ApiGateway',
          Dimensions: [{ Name: 'ApiId', Value: { Ref: apiId() } }, { Name: 'Stage', Value: 'mqtt' }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
    });

    it(`alarms on client errors (4XX before the integration) only at ${CLIENT_ERROR_PERCENT} % of requests and ${CLIENT_ERROR_MIN_COUNT} refused, 10 minutes running`, () => {
      const [clientErrors, ...others] = mathAlarms().filter((m) => m.inputs.some((i) => i.MetricName === 'ClientError'));
      expect(others).toEqual([]);
      expect(clientErrors!.alarm.Properties).toMatchObject({
        Threshold: CLIENT_ERROR_PERCENT,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      const byName = Object.fromEntries(clientErrors!.inputs.map((i) => [i.MetricName, i]));
      expect(Object.keys(byName).sort()).toEqual(['ClientError', 'ConnectCount', 'MessageCount']);
      for (const input of clientErrors!.inputs) {
        expect(input.Namespace).toBe('AWS/ApiGateway');
        expect(input.Dimensions).toEqual([{ Name: 'ApiId', Value: { Ref: apiId() } }, { Name: 'Stage', Value: 'mqtt' }]);
      }
      const e = byName.ClientError!.id;
      expect(clientErrors!.expression.Expression).toBe(
        `IF(FILL(${e},0) >= ${CLIENT_ERROR_MIN_COUNT}, 100 * FILL(${e},0) / (FILL(${e},0) + FILL(${byName.MessageCount!.id},0) + FILL(${byName.ConnectCount!.id},0)), 0)`,
      );
    });

    it.each(TABLE_IDS)('alarms on throttled requests to the %s table, summed over every operation the functions use on it', (t) => {
      const alarms = mathAlarms().filter((m) => m.inputs.some((i) => i.MetricName === 'ThrottledRequests' && i.Dimensions.some((d) => JSON.stringify(d.Value) === JSON.stringify({ Ref: tableId(t) }))));
      expect(alarms).toHaveLength(1);
      const [{ alarm, expression, inputs }] = alarms as [ReturnType<typeof mathAlarms>[number]];
      expect(alarm.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      const operations = inputs.map((i) => i.Dimensions.find((d) => d.Name === 'Operation')!.Value as string);
      expect(operations.sort()).toEqual(tableOperations(CORE_FUNCTION_IDS, t).sort());
      // CloudWatch allows at most 10 metrics in an alarm's expression.
      expect(inputs.length).toBeLessThanOrEqual(10);
      for (const i of inputs) expect(i.Dimensions).toContainEqual({ Name: 'TableName', Value: { Ref: tableId(t) } });
      expect(expression.Expression).toBe(inputs.map((i) => `FILL(${i.id},0)`).join(' + '));
    });

    it('watches transactions wherever a function writes, and the sessions table\'s reads, writes and sweep-index queries', () => {
      expect(tableOperations(CORE_FUNCTION_IDS, 'sessions')).toEqual(['DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem', 'TransactWriteItems']);
      expect(tableOperations(['connect'], 'auth')).toEqual([]);
    });

    it(`alarms when the account's Lambda concurrency reaches ${CONCURRENCY_ALARM_PERCENT} % of its limit (default 1000)`, () => {
      const alarms = alarmsOn('ConcurrentExecutions');
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.Properties).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Maximum', Threshold: 800, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      // Account-wide: no dimension.
      expect(alarms[0]!.Properties.Dimensions).toBeUndefined();
    });

    it('alarms on a sweep that ran only partly', () => {
      const alarms = alarmsOn(METRIC_NAMES.sweepIncomplete);
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.Properties).toMatchObject({ Namespace: METRICS_NAMESPACE, Statistic: 'Sum', Threshold: 1, TreatMissingData: 'notBreaching' });
    });

    it('subscribes the alarm e-mail to an SSL-only topic', () => {
      const subscriptions = Object.values(resources('AWS::SNS::Subscription')).map((r) => r.Properties);
      expect(subscriptions).toEqual([expect.objectContaining({ Protocol: 'email', Endpoint: 'ops@example.com' })]);
      const statements = Object.values(resources('AWS::SNS::TopicPolicy')).flatMap((p) => p.Properties.PolicyDocument.Statement as unknown[]);
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    });

    it('has a dashboard showing every broker metric', () => {
      const dashboards = Object.values(resources('AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      const body = render(dashboards[0].Properties.DashboardBody);
      for (const name of Object.values(METRIC_NAMES)) expect(body).toContain(`"${METRICS_NAMESPACE}","${name}"`);
    });

    it('shows PublishDenied and the #16 counters, each on its graph, and the account concurrency and table throttles', () => {
      const body = JSON.parse(render(Object.values(resources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody)) as {
        widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
      };
      const graphOf = (name: string) =>
        body.widgets.filter((w) => (w.properties.metrics ?? []).some((m) => m[0] === METRICS_NAMESPACE && m[1] === name)).map((w) => w.properties.title);
      expect(graphOf('PublishDenied')).toEqual([expect.stringMatching(/^Broker: refused/)]);
      expect(graphOf('PublishRateLimited')).toEqual([expect.stringMatching(/^Broker: refused/)]);
      expect(graphOf('DeliveryThrottled')).toEqual([expect.stringMatching(/^Broker: delivery/)]);
      expect(graphOf('SlowSubscriberClosed')).toEqual([expect.stringMatching(/^Broker: delivery/)]);
      expect(graphOf('SweepIncomplete')).toEqual(['Broker: ingress and sweeper']);
      const titles = body.widgets.map((w) => w.properties.title);
      expect(titles).toContain('Account: Lambda concurrency (max)');
      expect(titles).toContain('Tables: throttled requests');
    });
  });

  describe('outputs', () => {
    it('prints the wss:// URL, the management endpoint, each table name and a connect example', () => {
      const outputs = s.template.findOutputs('*');
      expect(render(outputs.WebSocketUrl.Value)).toBe(`wss://\${${apiId()}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/mqtt`);
      expect(render(outputs.ManagementEndpoint.Value)).toMatch(/^https:\/\/.*\/mqtt$/);
      for (const t of TABLE_IDS) {
        const key = `${t.charAt(0).toUpperCase()}${t.slice(1)}TableName`;
        expect(outputs[key].Value).toEqual({ Ref: tableId(t) });
      }
      expect(render(outputs.ConnectExample.Value)).toBe(
        `import { connect } from 'stratus-mqtt/client'; connect('wss://\${${apiId()}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/mqtt')`,
      );
      expect(outputs.AlarmTopicArn).toBeDefined();
      expect(outputs.CustomDomainTarget).toBeUndefined();
      expect(outputs.ExecuteApiUrl).toBeUndefined();
      expect(outputs.BackupVaultName).toBeUndefined();
    });

    it('creates none of the optional features by default: no domain, DNS record, backup plan or budget', () => {
      for (const type of ['AWS::ApiGatewayV2::DomainName', 'AWS::Route53::RecordSet', 'AWS::CertificateManager::Certificate', 'AWS::Backup::BackupPlan', 'AWS::Backup::BackupVault', 'AWS::Budgets::Budget']) {
        expect(Object.keys(resources(type)), type).toEqual([]);
      }
    });
  });
});
