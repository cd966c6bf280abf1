/**
 * The broker's alarms (docs/DEPLOY.md "Alarms" says what each means and what to do):
 * - each function's errors and throttles;
 * - `@connections` delivery errors, and sweeps that stopped before they finished (EMF metrics);
 * - the gateway: integration errors, execution errors, and client errors (4XX before the
 *   integration) over a share of the requests;
 * - each table's throttled requests, over the operations the functions use on it;
 * - the account's Lambda concurrency near its limit;
 * - with ordered ingress, the ingress queue's dead letters and the age of its oldest frame.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { TableId } from '../store/schema';
import { FUNCTION_IDS, tableActions, type FunctionId, type TableAction } from './access';
import { METRICS_NAMESPACE, METRIC_NAMES, type StratusMetricName } from './metrics';
import { pascalCase } from './tables';

export const PERIOD = Duration.minutes(5);
/**
 * The ingress age alarm fires when a frame has waited longer than this: a backlog the consumer does
 * not keep up with, or a connection stalled behind a retried frame (each retry waits out the
 * visibility timeout). An MQTT client typically gives up on a PINGRESP after its keep alive.
 */
export const INGRESS_AGE_ALARM_SECONDS = 60;
/**
 * ClientError counts requests API Gateway answers 4XX before the integration: the stage throttle's
 * 429s, authorizer refusals (401/403), malformed upgrades. A public endpoint always sees a few from
 * scanners and from single clients over their limits, so "any" would page for nothing. The alarm
 * fires when, in two 5-minute periods running, at least CLIENT_ERROR_MIN_COUNT requests were refused
 * and they were at least CLIENT_ERROR_PERCENT of the requests: a real share of the fleet is refused.
 */
export const CLIENT_ERROR_MIN_COUNT = 50;
export const CLIENT_ERROR_PERCENT = 5;
/** The account concurrency alarm fires at this share of `accountConcurrencyLimit`. */
export const CONCURRENCY_ALARM_PERCENT = 80;

export function stratusMetric(name: StratusMetricName): Metric {
  return new Metric({ namespace: METRICS_NAMESPACE, metricName: name, statistic: 'Sum', period: PERIOD });
}

export interface AlarmTargets {
  /** The deployed functions */
  readonly functions: Readonly<Partial<Record<FunctionId, IFunction>>>;
  readonly tables: Readonly<Record<TableId, ITable>>;
  readonly apiId: string;
  readonly stageName: string;
  /** The account's Lambda concurrency limit in this Region */
  readonly accountConcurrencyLimit: number;
  /** The ordered ingress queue and its dead-letter queue (absent with direct ingress) */
  readonly ingressQueue?: { readonly queue: IQueue; readonly deadLetterQueue: IQueue };
}

export function gatewayMetric(targets: Pick<AlarmTargets, 'apiId' | 'stageName'>, metricName: string, statistic = 'Sum'): Metric {
  return new Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiId: targets.apiId, Stage: targets.stageName },
    statistic,
    period: PERIOD,
  });
}

/** The account-wide peak of concurrent Lambda executions (AWS/Lambda, no dimension). */
export function accountConcurrencyMetric(): Metric {
  return new Metric({ namespace: 'AWS/Lambda', metricName: 'ConcurrentExecutions', statistic: 'Maximum', period: PERIOD });
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

function functionAlarms(scope: Construct, targets: AlarmTargets): Alarm[] {
  return (Object.entries(targets.functions) as [FunctionId, IFunction][]).flatMap(([id, fn]) => {
    const name = pascalCase(id);
    return [
      alarmOnAny(scope, `${name}ErrorsAlarm`, fn.metricErrors({ period: PERIOD }), `Stratus ${id} function failed at least once in 5 minutes`),
      alarmOnAny(scope, `${name}ThrottlesAlarm`, fn.metricThrottles({ period: PERIOD }), `Stratus ${id} function was throttled in 5 minutes`),
    ];
  });
}

/** The share of requests refused before the integration, when enough were refused to matter. */
export function clientErrorShare(targets: AlarmTargets): MathExpression {
  return new MathExpression({
    expression: `IF(FILL(e,0) >= ${CLIENT_ERROR_MIN_COUNT}, 100 * FILL(e,0) / (FILL(e,0) + FILL(m,0) + FILL(c,0)), 0)`,
    usingMetrics: {
      e: gatewayMetric(targets, 'ClientError'),
      m: gatewayMetric(targets, 'MessageCount'),
      c: gatewayMetric(targets, 'ConnectCount'),
    },
    period: PERIOD,
    label: 'Client errors, % of requests',
  });
}

function gatewayAlarms(scope: Construct, targets: AlarmTargets): Alarm[] {
  const clientErrors = new Alarm(scope, 'ClientErrorsAlarm', {
    metric: clientErrorShare(targets),
    threshold: CLIENT_ERROR_PERCENT,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription:
      `API Gateway refused at least ${CLIENT_ERROR_MIN_COUNT} requests and ${CLIENT_ERROR_PERCENT} % of all requests with 4XX before the ` +
      'integration, 10 minutes running: the stage throttle (429), the authorizer, or malformed upgrades',
  });
  return [
    alarmOnAny(
      scope,
      'IntegrationErrorsAlarm',
      gatewayMetric(targets, 'IntegrationError'),
      'API Gateway integrations answered 4XX/5XX in 5 minutes: a function failed, SQS refused frames of $default or $disconnect (lost: the route is one-way), or $connect refused an upgrade',
    ),
    alarmOnAny(
      scope,
      'ExecutionErrorsAlarm',
      gatewayMetric(targets, 'ExecutionError'),
      'API Gateway failed to call an integration in 5 minutes (a throttled, missing or misconfigured integration): the client got an error frame',
    ),
    clientErrors,
  ];
}

/**
 * The DynamoDB operations (CloudWatch's `Operation` dimension) the deployed functions use on one
 * table: each read or write action as itself, and TransactWriteItems wherever something writes
 * (transactions need the per-item write actions, and ConditionCheckItem exists only in them).
 */
export function tableOperations(deployed: readonly FunctionId[], table: TableId): string[] {
  const actions = new Set<TableAction>(deployed.flatMap((fn) => tableActions(fn, table)));
  const operations: string[] = [...actions].filter((a) => a !== 'ConditionCheckItem').sort();
  const writes: readonly TableAction[] = ['PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'];
  if ([...actions].some((a) => writes.includes(a))) operations.push('TransactWriteItems');
  return operations;
}

/**
 * ThrottledRequests summed over operations (CloudWatch has it only per TableName and Operation).
 * `id` names the expression's metrics: a graph with several tables needs distinct ids.
 */
export function tableThrottles(table: ITable, id: TableId, operations: readonly string[]): MathExpression {
  const metricId = (i: number) => `${id.toLowerCase().replace(/[^a-z0-9]/g, '')}_${i}`;
  const usingMetrics = Object.fromEntries(
    operations.map((operation, i) => [
      metricId(i),
      new Metric({
        namespace: 'AWS/DynamoDB',
        metricName: 'ThrottledRequests',
        dimensionsMap: { TableName: table.tableName, Operation: operation },
        statistic: 'Sum',
        period: PERIOD,
      }),
    ]),
  );
  return new MathExpression({
    expression: operations.map((_, i) => `FILL(${metricId(i)},0)`).join(' + '),
    usingMetrics,
    period: PERIOD,
    label: 'Throttled requests',
  });
}

function tableAlarms(scope: Construct, targets: AlarmTargets): Alarm[] {
  const deployed = FUNCTION_IDS.filter((fn) => targets.functions[fn] !== undefined);
  return (Object.entries(targets.tables) as [TableId, ITable][]).flatMap(([id, table]) => {
    const operations = tableOperations(deployed, id);
    if (operations.length === 0) return [];
    return [
      alarmOnAny(
        scope,
        `${pascalCase(id)}TableThrottlesAlarm`,
        tableThrottles(table, id, operations),
        `DynamoDB throttled requests to the ${id} table in 5 minutes (on-demand: a hot partition, or the table's or account's throughput quota)`,
      ),
    ];
  });
}

function accountAlarms(scope: Construct, targets: AlarmTargets): Alarm[] {
  const threshold = Math.floor((targets.accountConcurrencyLimit * CONCURRENCY_ALARM_PERCENT) / 100);
  return [
    new Alarm(scope, 'AccountConcurrencyAlarm', {
      metric: accountConcurrencyMetric(),
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `Lambda concurrency in this account and Region reached ${threshold} (${CONCURRENCY_ALARM_PERCENT} % of ${targets.accountConcurrencyLimit}): every function in the account is close to being throttled`,
    }),
  ];
}

function brokerAlarms(scope: Construct): Alarm[] {
  return [
    alarmOnAny(scope, 'DeliveryErrorsAlarm', stratusMetric(METRIC_NAMES.deliveryErrors), '@connections deliveries failed (other than 410 Gone) in 5 minutes'),
    alarmOnAny(
      scope,
      'SweepIncompleteAlarm',
      stratusMetric(METRIC_NAMES.sweepIncomplete),
      'A sweep stopped before it finished (time budget or an error) in 5 minutes: lost connections, wills and expiries wait for the next run',
    ),
  ];
}

/** Ordered ingress: a frame dead-lettered (its connection was closed), and a frame waiting too long. */
function ingressAlarms(scope: Construct, ingress: NonNullable<AlarmTargets['ingressQueue']>): Alarm[] {
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
  return [deadLetters, age];
}

export function createAlarms(scope: Construct, targets: AlarmTargets): Alarm[] {
  return [
    ...functionAlarms(scope, targets),
    ...brokerAlarms(scope),
    ...gatewayAlarms(scope, targets),
    ...tableAlarms(scope, targets),
    ...accountAlarms(scope, targets),
    ...(targets.ingressQueue ? ingressAlarms(scope, targets.ingressQueue) : []),
  ];
}
