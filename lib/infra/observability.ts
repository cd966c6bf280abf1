/**
 * The alarms (./alarms) wired to an SNS topic when an alarm e-mail is given, and one CloudWatch
 * dashboard: the gateway, the functions and the account's concurrency, the broker's EMF metrics
 * (traffic, refusals, delivery, ingress and sweeper), the tables and the ingress queue.
 */
import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, HorizontalAnnotation, Metric, TextWidget, type Alarm, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { TableId } from '../store/schema';
import { FUNCTION_IDS, type FunctionId } from './access';
import {
  CONCURRENCY_ALARM_PERCENT,
  PERIOD,
  accountConcurrencyMetric,
  clientErrorShare,
  createAlarms,
  gatewayMetric,
  stratusMetric,
  tableOperations,
  tableThrottles,
  type AlarmTargets,
} from './alarms';
import { METRICS_NAMESPACE, type StratusMetricName } from './metrics';

export { INGRESS_AGE_ALARM_SECONDS } from './alarms';

interface ObservabilityProps extends AlarmTargets {
  readonly alarmEmail?: string;
}

interface Observability {
  readonly alarms: readonly Alarm[];
  readonly dashboard: Dashboard;
  readonly alarmTopic?: Topic;
}

type BrokerGraph = 'traffic' | 'bytes' | 'refused' | 'delivery' | 'ingress and sweeper';

/** Which dashboard graph shows each broker metric: every metric has one (the compiler checks). */
export const BROKER_METRIC_GRAPHS: Readonly<Record<StratusMetricName, BrokerGraph>> = {
  Connections: 'traffic',
  MessagesIn: 'traffic',
  MessagesOut: 'traffic',
  BytesIn: 'bytes',
  BytesOut: 'bytes',
  AuthFailures: 'refused',
  PublishDenied: 'refused',
  PublishRateLimited: 'refused',
  QueueOverflows: 'refused',
  DeliveryErrors: 'delivery',
  Gone410: 'delivery',
  DeliveryThrottled: 'delivery',
  SlowSubscriberClosed: 'delivery',
  IngressFailures: 'ingress and sweeper',
  IngressReorders: 'ingress and sweeper',
  SweepIncomplete: 'ingress and sweeper',
};

type Graph = (title: string, left: IMetric[], right?: IMetric[], annotations?: HorizontalAnnotation[]) => GraphWidget;

function brokerMetrics(graph: BrokerGraph): Metric[] {
  return (Object.entries(BROKER_METRIC_GRAPHS) as [StratusMetricName, BrokerGraph][]).filter(([, g]) => g === graph).map(([name]) => stratusMetric(name));
}

function gatewayWidgets(props: ObservabilityProps, graph: Graph): GraphWidget[] {
  return [
    graph('Gateway: connections and messages', [gatewayMetric(props, 'ConnectCount'), gatewayMetric(props, 'MessageCount')]),
    graph(
      'Gateway: errors',
      [gatewayMetric(props, 'ClientError'), gatewayMetric(props, 'ExecutionError'), gatewayMetric(props, 'IntegrationError')],
      [clientErrorShare(props)],
    ),
    graph('Gateway: integration latency (p99)', [gatewayMetric(props, 'IntegrationLatency', 'p99')]),
  ];
}

function functionWidgets(props: ObservabilityProps, graph: Graph): GraphWidget[] {
  const fns = Object.entries(props.functions) as [FunctionId, IFunction][];
  const threshold = Math.floor((props.accountConcurrencyLimit * CONCURRENCY_ALARM_PERCENT) / 100);
  return [
    graph('Functions: invocations', fns.map(([id, fn]) => fn.metricInvocations({ period: PERIOD, label: id }))),
    graph('Functions: errors and throttles', fns.flatMap(([id, fn]) => [fn.metricErrors({ period: PERIOD, label: `${id} errors` }), fn.metricThrottles({ period: PERIOD, label: `${id} throttles` })])),
    graph('Functions: duration (p99)', fns.map(([id, fn]) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label: id }))),
    graph('Account: Lambda concurrency (max)', [accountConcurrencyMetric().with({ label: 'concurrent executions' })], [], [
      { value: threshold, label: `alarm (${CONCURRENCY_ALARM_PERCENT} % of ${props.accountConcurrencyLimit})` },
    ]),
  ];
}

function brokerWidgets(graph: Graph): GraphWidget[] {
  return [
    graph('Broker: traffic', brokerMetrics('traffic'), brokerMetrics('bytes')),
    graph('Broker: refused (access rules, rate limit, full queues, credentials)', brokerMetrics('refused')),
    graph('Broker: delivery (errors, 410, 429, slow subscribers closed)', brokerMetrics('delivery')),
    graph('Broker: ingress and sweeper', brokerMetrics('ingress and sweeper')),
  ];
}

function tableWidgets(props: ObservabilityProps, graph: Graph): GraphWidget[] {
  const tables = Object.entries(props.tables) as [TableId, ITable][];
  const deployed = FUNCTION_IDS.filter((fn) => props.functions[fn] !== undefined);
  return [
    graph('Tables: consumed capacity', tables.flatMap(([id, t]) => [
      t.metricConsumedReadCapacityUnits({ period: PERIOD, label: `${id} reads` }),
      t.metricConsumedWriteCapacityUnits({ period: PERIOD, label: `${id} writes` }),
    ])),
    graph(
      'Tables: throttled requests',
      tables.filter(([id]) => tableOperations(deployed, id).length > 0).map(([id, t]) => tableThrottles(t, id, tableOperations(deployed, id)).with({ label: id })),
    ),
  ];
}

function ingressWidgets(ingress: NonNullable<ObservabilityProps['ingressQueue']>, graph: Graph): GraphWidget[] {
  const { queue, deadLetterQueue: dlq } = ingress;
  const max = { period: PERIOD, statistic: 'Maximum' };
  return [
    graph('Ingress queue: frames', [
      queue.metricNumberOfMessagesSent({ period: PERIOD, label: 'sent' }),
      queue.metricNumberOfMessagesDeleted({ period: PERIOD, label: 'handled' }),
    ]),
    graph('Ingress queue: backlog (max)', [
      queue.metricApproximateNumberOfMessagesVisible({ ...max, label: 'waiting' }),
      queue.metricApproximateNumberOfMessagesNotVisible({ ...max, label: 'in flight' }),
      dlq.metricApproximateNumberOfMessagesVisible({ ...max, label: 'dead-lettered' }),
    ]),
    graph('Ingress queue: age of the oldest frame (max, s)', [queue.metricApproximateAgeOfOldestMessage({ ...max, label: 'age' })]),
  ];
}

function createDashboard(scope: Construct, props: ObservabilityProps): Dashboard {
  const graph: Graph = (title, left, right = [], leftAnnotations) => new GraphWidget({ title, left, right, leftAnnotations, width: 8, height: 6 });
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(3) });
  dashboard.addWidgets(new TextWidget({ markdown: `# Stratus MQTT broker\nStage \`${props.stageName}\`; custom metrics in namespace \`${METRICS_NAMESPACE}\`.`, width: 24, height: 2 }));
  dashboard.addWidgets(...gatewayWidgets(props, graph));
  dashboard.addWidgets(...functionWidgets(props, graph));
  dashboard.addWidgets(...brokerWidgets(graph));
  dashboard.addWidgets(...tableWidgets(props, graph));
  if (props.ingressQueue) dashboard.addWidgets(...ingressWidgets(props.ingressQueue, graph));
  return dashboard;
}

function createAlarmTopic(scope: Construct, email: string): Topic {
  const topic = new Topic(scope, 'AlarmTopic', { displayName: 'Stratus MQTT broker alarms', enforceSSL: true });
  topic.addSubscription(new EmailSubscription(email));
  return topic;
}

export function createObservability(scope: Construct, props: ObservabilityProps): Observability {
  const alarms = createAlarms(scope, props);
  const dashboard = createDashboard(scope, props);
  if (!props.alarmEmail) return { alarms, dashboard };
  const alarmTopic = createAlarmTopic(scope, props.alarmEmail);
  for (const alarm of alarms) alarm.addAlarmAction(new SnsAction(alarmTopic));
  return { alarms, dashboard, alarmTopic };
}
