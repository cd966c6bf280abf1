/**
 * Alarms (function errors and throttles, delivery failures; with ordered ingress, the ingress
 * queue's dead letters, the age of its oldest frame and the gateway's integration errors) wired to
 * an SNS topic when an alarm e-mail is given, and one CloudWatch dashboard: the gateway, the
 * functions, the broker's EMF metrics, the tables and the ingress queue.
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { TableId } from '../store/schema';
import type { FunctionId } from './access';
import { ALL_METRIC_NAMES, METRICS_NAMESPACE, METRIC_NAMES, type StratusMetricName } from './metrics';

const PERIOD = Duration.minutes(5);
/**
 * The ingress age alarm fires when a frame has waited longer than this: a backlog the consumer does
 * not keep up with, or a connection stalled behind a retried frame (each retry waits out the
 * visibility timeout). An MQTT client typically gives up on a PINGRESP after its keep alive.
 */
export const INGRESS_AGE_ALARM_SECONDS = 60;

function stratusMetric(name: StratusMetricName): Metric {
  return new Metric({ namespace: METRICS_NAMESPACE, metricName: name, statistic: 'Sum', period: PERIOD });
}

interface ObservabilityProps {
  /** The deployed functions */
  readonly functions: Readonly<Partial<Record<FunctionId, IFunction>>>;
  readonly tables: Readonly<Record<TableId, ITable>>;
  readonly apiId: string;
  readonly stageName: string;
  readonly alarmEmail?: string;
  /** The ordered ingress queue and its dead-letter queue (absent with direct ingress) */
  readonly ingressQueue?: { readonly queue: IQueue; readonly deadLetterQueue: IQueue };
}

interface Observability {
  readonly alarms: readonly Alarm[];
  readonly dashboard: Dashboard;
  readonly alarmTopic?: Topic;
}

function alarmOnAny(scope: Construct, id: string, metric: IMetric, description: string): Alarm {
  return new Alarm(scope, id, {
    metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: description,
  });
}

function createAlarms(scope: Construct, props: ObservabilityProps): Alarm[] {
  const alarms: Alarm[] = [];
  for (const [id, fn] of Object.entries(props.functions) as [FunctionId, IFunction][]) {
    const name = id.charAt(0).toUpperCase() + id.slice(1);
    alarms.push(
      alarmOnAny(scope, `${name}ErrorsAlarm`, fn.metricErrors({ period: PERIOD }), `Stratus ${id} function failed at least once in 5 minutes`),
      alarmOnAny(scope, `${name}ThrottlesAlarm`, fn.metricThrottles({ period: PERIOD }), `Stratus ${id} function was throttled in 5 minutes`),
    );
  }
  alarms.push(
    alarmOnAny(
      scope,
      'DeliveryErrorsAlarm',
      stratusMetric(METRIC_NAMES.deliveryErrors),
      '@connections deliveries failed (other than 410 Gone) in 5 minutes',
    ),
  );
  if (props.ingressQueue) alarms.push(...createIngressAlarms(scope, props, props.ingressQueue));
  return alarms;
}

/**
 * Ordered ingress: a frame dead-lettered (its connection was closed), a frame waiting too long, and
 * the gateway failing to send to the queue (on a one-way route the client hears nothing).
 */
function createIngressAlarms(scope: Construct, props: ObservabilityProps, ingress: NonNullable<ObservabilityProps['ingressQueue']>): Alarm[] {
  const deadLetters = new Alarm(scope, 'IngressDeadLettersAlarm', {
    metric: ingress.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    // SQS stops reporting a queue without activity: the alarm keeps its state until the DLQ is emptied.
    treatMissingData: TreatMissingData.IGNORE,
    alarmDescription: 'Ingress frames failed on every attempt and are in the dead-letter queue; their connections were closed',
  });
  const age = new Alarm(scope, 'IngressAgeAlarm', {
    metric: ingress.queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
    threshold: INGRESS_AGE_ALARM_SECONDS,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: `An ingress frame waited more than ${INGRESS_AGE_ALARM_SECONDS} s in the queue: a backlog, or a connection stalled behind a retried frame`,
  });
  const integrationErrors = alarmOnAny(
    scope,
    'IntegrationErrorsAlarm',
    gatewayMetric(props, 'IntegrationError'),
    'API Gateway integrations answered 4XX/5XX in 5 minutes: SQS refused frames of $default or $disconnect (lost: the route is one-way), or $connect failed',
  );
  return [deadLetters, age, integrationErrors];
}

function gatewayMetric(props: ObservabilityProps, metricName: string, statistic = 'Sum'): Metric {
  return new Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiId: props.apiId, Stage: props.stageName },
    statistic,
    period: PERIOD,
  });
}

function createDashboard(scope: Construct, props: ObservabilityProps): Dashboard {
  const fns = Object.entries(props.functions) as [FunctionId, IFunction][];
  const tables = Object.entries(props.tables) as [TableId, ITable][];
  const graph = (title: string, left: IMetric[], right: IMetric[] = []): GraphWidget =>
    new GraphWidget({ title, left, right, width: 8, height: 6 });
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(3) });
  dashboard.addWidgets(new TextWidget({ markdown: `# Stratus MQTT broker\nStage \`${props.stageName}\`; custom metrics in namespace \`${METRICS_NAMESPACE}\`.`, width: 24, height: 2 }));
  dashboard.addWidgets(
    graph('Gateway: connections and messages', [gatewayMetric(props, 'ConnectCount'), gatewayMetric(props, 'MessageCount')]),
    graph('Gateway: errors', [gatewayMetric(props, 'ClientError'), gatewayMetric(props, 'ExecutionError'), gatewayMetric(props, 'IntegrationError')]),
    graph('Gateway: integration latency (p99)', [gatewayMetric(props, 'IntegrationLatency', 'p99')]),
  );
  dashboard.addWidgets(
    graph('Functions: invocations', fns.map(([id, fn]) => fn.metricInvocations({ period: PERIOD, label: id }))),
    graph('Functions: errors and throttles', fns.flatMap(([id, fn]) => [fn.metricErrors({ period: PERIOD, label: `${id} errors` }), fn.metricThrottles({ period: PERIOD, label: `${id} throttles` })])),
    graph('Functions: duration (p99)', fns.map(([id, fn]) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label: id }))),
  );
  const broker = (names: readonly StratusMetricName[]): Metric[] => names.map(stratusMetric);
  const traffic: readonly StratusMetricName[] = ['Connections', 'MessagesIn', 'MessagesOut'];
  const bytes: readonly StratusMetricName[] = ['BytesIn', 'BytesOut'];
  const failures = ALL_METRIC_NAMES.filter((n) => !traffic.includes(n) && !bytes.includes(n));
  dashboard.addWidgets(
    graph('Broker: traffic', broker(traffic), broker(bytes)),
    graph('Broker: failures', broker(failures)),
    graph('Tables: consumed capacity', tables.flatMap(([id, t]) => [
      t.metricConsumedReadCapacityUnits({ period: PERIOD, label: `${id} reads` }),
      t.metricConsumedWriteCapacityUnits({ period: PERIOD, label: `${id} writes` }),
    ])),
  );
  if (props.ingressQueue) dashboard.addWidgets(...ingressWidgets(props.ingressQueue, graph));
  return dashboard;
}

function ingressWidgets(
  ingress: NonNullable<ObservabilityProps['ingressQueue']>,
  graph: (title: string, left: IMetric[], right?: IMetric[]) => GraphWidget,
): GraphWidget[] {
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
