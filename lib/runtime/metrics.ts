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
  /** Writes one EMF line with everything added since the last flush (nothing if empty). */
  flush(): void;
}

export function createMetrics(write: (line: string) => void = (l) => process.stdout.write(l + '\n'), now: () => number = Date.now): Metrics {
  let values = new Map<MetricName, number>();
  return {
    add(name, value = 1) {
      values.set(name, (values.get(name) ?? 0) + value);
    },
    flush() {
      if (values.size === 0) return;
      const names = [...values.keys()];
      const line: Record<string, unknown> = {
        _aws: {
          Timestamp: now(),
          CloudWatchMetrics: [
            { Namespace: METRIC_NAMESPACE, Dimensions: [[]], Metrics: names.map((Name) => ({ Name, Unit: UNITS[Name] })) },
          ],
        },
      };
      for (const [name, value] of values) line[name] = value;
      values = new Map();
      write(JSON.stringify(line));
    },
  };
}

/** Metrics that are dropped: nothing is gathered or written (local mode, unless it is given some). */
export const noMetrics: Metrics = { add: () => undefined, flush: () => undefined };
