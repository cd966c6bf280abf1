/**
 * Ordered ingress (the default): the SQS FIFO queue behind `$default` and `$disconnect`, its
 * dead-letter queue, the role API Gateway sends with, the two AWS service integrations, the message
 * function's event source mapping, the environment contract and the alarms. Synthesized once
 * without bundling (stack.test.ts bundles the same stack) and checked by cdk-nag.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendMessageTemplate, type IngressEventType } from '../../lib/ingress-wire';
import { coreFunctionIds, type CoreFunctionId } from '../../lib/infra/access';
import { FUNCTION_TIMEOUTS } from '../../lib/infra/functions';
import { DEAD_LETTER_RETENTION, INGRESS_BATCH_SIZE, INGRESS_MAX_RECEIVES, VISIBILITY_TIMEOUT_FACTOR } from '../../lib/infra/ingress';
import { INGRESS_AGE_ALARM_SECONDS } from '../../lib/infra/observability';
import { render, renderStatement, type RenderedStatement } from './render';
import { TABLE_IDS } from '../../lib/store/schema';
import { expectedAlarmCount, synthStratus, type Synthesized } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

beforeEach(() => {
  expect.hasAssertions();
});

/** The consumer's grant from the event source mapping: receive, delete, extend, and read the queue's attributes. */
const CONSUME_ACTIONS = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
/** What `grantSendMessages` allows. */
const SEND_ACTIONS = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];

describe('ordered ingress (default props, cdk-nag)', () => {
  let s: Synthesized;
  const resources = (type: string) => s.template.findResources(type) as Record<string, Resource>;
  const logicalId = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as CfnElement);
  const ingress = () => {
    const queue = s.stack.broker.ingressQueue;
    if (!queue) throw new Error('no ingress queue');
    return queue;
  };
  const queueId = () => logicalId(ingress().queue);
  const dlqId = () => logicalId(ingress().deadLetterQueue);
  const roleId = () => logicalId(ingress().sendRole);
  const functionId = (id: CoreFunctionId) => {
    const fn = s.stack.broker.functions[id];
    if (!fn) throw new Error(`no ${id} function`);
    return logicalId(fn);
  };

  function statementsOfRole(id: string): RenderedStatement[] {
    return Object.values(resources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === id))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as Record<string, unknown>[]).map(renderStatement));
  }

  function integrationOf(routeKey: string): Resource {
    const route = Object.values(resources('AWS::ApiGatewayV2::Route')).find((r) => r.Properties.RouteKey === routeKey);
    if (!route) throw new Error(`no route ${routeKey}`);
    const integrationId = render(route.Properties.Target).replace('integrations/', '').replace(/^\$\{|\}$/g, '');
    return resources('AWS::ApiGatewayV2::Integration')[integrationId]!;
  }

  beforeAll(() => {
    s = synthStratus({ broker: { alarmEmail: 'ops@example.com' } }, { bundling: false, nag: true });
  });
  afterAll(() => s?.cleanup());

  it('passes cdk-nag with no new acknowledgement (encrypted, TLS only, dead-letter queue)', () => {
    expect(s.synthError).toBeUndefined();
    expect(s.violations).toEqual([]);
  });

  describe('the queues', () => {
    it('are exactly the ingress queue and its dead-letter queue', () => {
      expect(Object.keys(resources('AWS::SQS::Queue')).sort()).toEqual([queueId(), dlqId()].sort());
    });

    it('ingress: FIFO in high-throughput mode, no content-based deduplication, SQS-managed encryption', () => {
      expect(resources('AWS::SQS::Queue')[queueId()]!.Properties).toMatchObject({
        FifoQueue: true,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        ContentBasedDeduplication: false,
        SqsManagedSseEnabled: true,
      });
    });

    it('ingress: a visibility timeout of 6 times the message function timeout, at least', () => {
      const timeout = resources('AWS::Lambda::Function')[functionId('message')]!.Properties.Timeout as number;
      expect(timeout).toBe(FUNCTION_TIMEOUTS.message.toSeconds());
      const visibility = resources('AWS::SQS::Queue')[queueId()]!.Properties.VisibilityTimeout as number;
      expect(VISIBILITY_TIMEOUT_FACTOR).toBeGreaterThanOrEqual(6);
      expect(visibility).toBe(timeout * VISIBILITY_TIMEOUT_FACTOR);
    });

    it(`ingress: redrives to the dead-letter queue after ${INGRESS_MAX_RECEIVES} receives`, () => {
      expect(resources('AWS::SQS::Queue')[queueId()]!.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId(), 'Arn'] },
        maxReceiveCount: INGRESS_MAX_RECEIVES,
      });
    });

    it('dead-letter queue: FIFO (as its source must be), encrypted, kept 14 days, no redrive of its own', () => {
      const dlq = resources('AWS::SQS::Queue')[dlqId()]!.Properties;
      expect(dlq).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false, SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      expect(DEAD_LETTER_RETENTION.toDays()).toBe(14);
      expect(dlq.RedrivePolicy).toBeUndefined();
    });

    it('both refuse requests without TLS', () => {
      for (const id of [queueId(), dlqId()]) {
        const policies = Object.values(resources('AWS::SQS::QueuePolicy')).filter((p) => p.Properties.Queues.some((q: { Ref: string }) => q.Ref === id));
        const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
        expect(statements).toContainEqual(
          expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        );
        expect(statements.every((st) => st.Effect === 'Deny')).toBe(true);
      }
    });
  });

  describe("API Gateway's send role", () => {
    it('is trusted by API Gateway only, with no managed policy', () => {
      const role = resources('AWS::IAM::Role')[roleId()]!.Properties;
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } },
      ]);
      expect(role.ManagedPolicyArns).toBeUndefined();
    });

    it('may only SendMessage, to the ingress queue only', () => {
      expect(statementsOfRole(roleId())).toEqual([{ effect: 'Allow', actions: ['sqs:SendMessage'], resources: [`\${${queueId()}.Arn}`] }]);
    });
  });

  describe('routes', () => {
    it.each<[string, IngressEventType]>([
      ['$default', 'MESSAGE'],
      ['$disconnect', 'DISCONNECT'],
    ])('%s: an AWS integration sending %s to the queue, form-encoded, through the template of lib/ingress-wire', (routeKey, eventType) => {
      const props = integrationOf(routeKey).Properties;
      expect(props).toMatchObject({
        IntegrationType: 'AWS',
        IntegrationMethod: 'POST',
        CredentialsArn: { 'Fn::GetAtt': [roleId(), 'Arn'] },
        RequestParameters: { 'integration.request.header.Content-Type': "'application/x-www-form-urlencoded'" },
        PassthroughBehavior: 'NEVER',
        TemplateSelectionExpression: '\\$default',
      });
      expect(render(props.IntegrationUri)).toBe(`arn:\${AWS::Partition}:apigateway:\${AWS::Region}:sqs:path/\${AWS::AccountId}/\${${queueId()}.QueueName}`);
      expect(props.RequestTemplates).toEqual({ $default: sendMessageTemplate(eventType) });
    });

    it('the templates group by connection, deduplicate by request and URL-encode the frame', () => {
      const template = integrationOf('$default').Properties.RequestTemplates.$default as string;
      expect(template).toContain('MessageGroupId=$util.urlEncode($context.connectionId)');
      expect(template).toContain('MessageDeduplicationId=$util.urlEncode($context.requestId)');
      expect(template).toContain('MessageBody=$util.urlEncode($input.body)');
    });

    it('$connect stays a Lambda proxy integration to the connect function, the only one API Gateway may invoke', () => {
      const connect = integrationOf('$connect').Properties;
      expect(connect.IntegrationType).toBe('AWS_PROXY');
      expect(render(connect.IntegrationUri)).toContain(`\${${functionId('connect')}.Arn}`);
      const fromGateway = Object.values(resources('AWS::Lambda::Permission')).filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com');
      expect(fromGateway.map((p) => p.Properties.FunctionName)).toEqual([{ 'Fn::GetAtt': [functionId('connect'), 'Arn'] }]);
    });

    it('no disconnect function: the message function runs the disconnect path for the queue\'s closes', () => {
      expect(s.stack.broker.functions.disconnect).toBeUndefined();
      expect(Object.keys(resources('AWS::Lambda::Function'))).toHaveLength(coreFunctionIds('ordered').length);
      expect(coreFunctionIds('ordered')).toEqual(['connect', 'message', 'sweeper']);
    });
  });

  describe('the consumer', () => {
    it(`the message function consumes the queue: batches of ${INGRESS_BATCH_SIZE}, partial batch failures, no batching window`, () => {
      const mappings = Object.values(resources('AWS::Lambda::EventSourceMapping'));
      expect(mappings).toHaveLength(1);
      expect(mappings[0]!.Properties).toEqual({
        BatchSize: 10,
        EventSourceArn: { 'Fn::GetAtt': [queueId(), 'Arn'] },
        FunctionName: { Ref: functionId('message') },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(INGRESS_BATCH_SIZE).toBe(10);
    });

    it('the message function may consume the ingress queue; it and the sweeper may send to it (a close they find goes behind the connection\'s frames); connect touches no SQS', () => {
      const sqsOf = (id: 'message' | 'sweeper' | 'connect') =>
        statementsOfRole(logicalId(s.stack.broker.functions[id].role as never)).filter((st) => st.actions.some((a) => a.startsWith('sqs:')));
      const actions = (id: 'message' | 'sweeper') => [...new Set(sqsOf(id).flatMap((st) => st.actions))].sort();
      expect(actions('message')).toEqual([...CONSUME_ACTIONS, 'sqs:SendMessage'].sort());
      expect(actions('sweeper')).toEqual(SEND_ACTIONS);
      for (const id of ['message', 'sweeper'] as const) {
        expect(new Set(sqsOf(id).flatMap((st) => st.resources)), id).toEqual(new Set([`\${${queueId()}.Arn}`]));
        const env = resources('AWS::Lambda::Function')[functionId(id)]!.Properties.Environment.Variables;
        expect(env.STRATUS_INGRESS_QUEUE_URL, id).toEqual({ Ref: queueId() });
      }
      expect(sqsOf('connect')).toEqual([]);
    });

    it('every function is told the redrive maxReceiveCount as STRATUS_INGRESS_MAX_RECEIVES', () => {
      const maxReceiveCount = resources('AWS::SQS::Queue')[queueId()]!.Properties.RedrivePolicy.maxReceiveCount as number;
      for (const id of coreFunctionIds('ordered')) {
        const env = resources('AWS::Lambda::Function')[functionId(id)]!.Properties.Environment.Variables;
        expect(env.STRATUS_INGRESS_MAX_RECEIVES, id).toBe(String(maxReceiveCount));
      }
    });
  });

  describe('alarms and dashboard', () => {
    const alarmOn = (metricName: string) => Object.values(resources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === metricName);
    const topic = () => ({ Ref: logicalId(s.stack.broker.alarmTopic!) });

    it('alarms as soon as a frame is in the dead-letter queue, and stays in alarm until it is emptied', () => {
      const [alarm] = alarmOn('ApproximateNumberOfMessagesVisible');
      expect(alarm!.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId(), 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'ignore',
        AlarmActions: [topic()],
      });
      expect(alarmOn('ApproximateNumberOfMessagesVisible')).toHaveLength(1);
    });

    it(`alarms when the oldest ingress frame is older than ${INGRESS_AGE_ALARM_SECONDS} s`, () => {
      const alarms = alarmOn('ApproximateAgeOfOldestMessage');
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId(), 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: INGRESS_AGE_ALARM_SECONDS,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic()],
      });
    });

    it("alarms on the stage's integration errors (SQS refusing a frame: the client hears nothing; the alarm exists with direct ingress too)", () => {
      const alarms = alarmOn('IntegrationError');
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.Properties).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        Dimensions: [
          { Name: 'ApiId', Value: { Ref: logicalId(s.stack.broker.api) } },
          { Name: 'Stage', Value: 'mqtt' },
        ],
        Statistic: 'Sum',
        Threshold: 1,
        AlarmActions: [topic()],
      });
    });

    it('counts the alarms: the common ones (stack.test.ts) and the two of the queue', () => {
      const expected = expectedAlarmCount(coreFunctionIds('ordered').length, 'ordered', TABLE_IDS.length);
      expect(Object.keys(resources('AWS::CloudWatch::Alarm'))).toHaveLength(expected);
      expect(s.stack.broker.alarms).toHaveLength(expected);
    });

    it('shows the queue on the dashboard: frames, backlog, dead letters and age', () => {
      const body = render(Object.values(resources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
      for (const metric of ['NumberOfMessagesSent', 'NumberOfMessagesDeleted', 'ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']) {
        expect(body).toContain(`"AWS/SQS","${metric}","QueueName","\${${queueId()}.QueueName}"`);
      }
      expect(body).toContain(`"AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","\${${dlqId()}.QueueName}"`);
    });
  });
});
