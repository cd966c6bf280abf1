/**
 * Metrics in CloudWatch embedded metric format (EMF): one JSON log line per flush, which CloudWatch
 * turns into metrics with no API call (and so no cost per put). Names match the alarms and the
 * dashboard defined in lib/infra.
 */

export const METRIC_NAMESPACE = 'Stratus';

export type MetricName =
  | 'Connections'
  | 'MessagesIn'
  | 'MessagesOut'
  | 'BytesIn'
  | 'BytesOut'
  | 'AuthFailures'
  | 'PublishDenied'
  | 'DeliveryErrors'
  | 'Gone410'
  | 'QueueOverflows'
  | 'IngressFailures'
  | 'IngressReorders'
  | 'DeliveryThrottled'
  | 'SlowSubscriberClosed'
  | 'PublishRateLimited'
  | 'SweepIncomplete';

const UNITS: Record<MetricName, 'Count' | 'Bytes'> = {
  Connections: 'Count',
  MessagesIn: 'Count',
  MessagesOut: 'Count',
  BytesIn: 'Bytes',
  BytesOut: 'Bytes',
  AuthFailures: 'Count',
  PublishDenied: 'Count',
  DeliveryErrors: 'Count',
  Gone410: 'Count',
  QueueOverflows: 'Count',
  IngressFailures: 'Count',
  IngressReorders: 'Count',
  DeliveryThrottled: 'Count',
  SlowSubscriberClosed: 'Count',
  PublishRateLimited: 'Count',
  SweepIncomplete: 'Count',
};

export interface Metrics {
  add(name: MetricName, value?: number): void;
  /**
   * Writes one EMF line with everything added since the last line (nothing if empty), unless the
   * metrics batch (`batchMs`) and only traffic counters were added within the batch's age.
   */
  flush(): void;
}

/**
 * Traffic counters: the ones a batched flush may hold back (`batchMs`). Every other metric is an
 * event an alarm or an operator looks for (failures, refusals, closes): adding one makes the
 * next flush write at once.
 */
const TRAFFIC: ReadonlySet<MetricName> = new Set<MetricName>(['Connections', 'MessagesIn', 'MessagesOut', 'BytesIn', 'BytesOut']);

export interface MetricsOptions {
  /**
   * Hold traffic counters back for up to this long, summing them across flushes (across the
   * invocations of one Lambda container), so that busy containers write one EMF line a minute
   * instead of one per invocation (docs/COST.md, "Logs and metrics"). A container that AWS
   * reclaims loses what it held (at most `batchMs` of its traffic counts). 0 writes every flush.
   * @default 0
   */
  readonly batchMs?: number;
}

export function createMetrics(
  write: (line: string) => void = (l) => process.stdout.write(l + '\n'),
  now: () => number = Date.now,
  options: MetricsOptions = {},
): Metrics {
  const batchMs = options.batchMs ?? 0;
  let values = new Map<MetricName, number>();
  let urgent = false;
  let since: number | undefined;
  return {
    add(name, value = 1) {
      values.set(name, (values.get(name) ?? 0) + value);
      if (!TRAFFIC.has(name)) urgent = true;
      since ??= now();
    },
    flush() {
      if (values.size === 0) return;
      const at = now();
      if (!urgent && batchMs > 0 && since !== undefined && at - since < batchMs) return;
      const names = [...values.keys()];
      const line: Record<string, unknown> = {
        _aws: {
          Timestamp: at,
          CloudWatchMetrics: [
            { Namespace: METRIC_NAMESPACE, Dimensions: [[]], Metrics: names.map((Name) => ({ Name, Unit: UNITS[Name] })) },
          ],
        },
      };
      for (const [name, value] of values) line[name] = value;
      values = new Map();
      urgent = false;
      since = undefined;
      write(JSON.stringify(line));
    },
  };
}

/** Metrics that are dropped: nothing is gathered or written (local mode, unless it is given some). */
export const noMetrics: Metrics = { add: () => undefined, flush: () => undefined };
