/**
 * Names of the custom metrics the Lambda handlers emit in CloudWatch embedded metric format (EMF).
 * The runtime (lib/runtime/metrics.ts) writes them with no dimensions (`Dimensions: [[]]`); the
 * alarms and the dashboard read them here. Both sides must spell them the same way.
 */

export const METRICS_NAMESPACE = 'Stratus';

export const METRIC_NAMES = {
  /** CONNECT packets accepted */
  connections: 'Connections',
  /** MQTT packets received from clients */
  messagesIn: 'MessagesIn',
  /** MQTT packets sent to clients */
  messagesOut: 'MessagesOut',
  /** Bytes of MQTT packets received (before base64) */
  bytesIn: 'BytesIn',
  /** Bytes of MQTT packets sent (before base64) */
  bytesOut: 'BytesOut',
  /** CONNECTs refused for bad or missing credentials */
  authFailures: 'AuthFailures',
  /** PUBLISHes refused by the access rules (docs/SECURITY.md) */
  publishDenied: 'PublishDenied',
  /** PUBLISHes refused by the per-client publish rate limit (docs/DEPLOY.md, "Per-client limits") */
  publishRateLimited: 'PublishRateLimited',
  /** `@connections` POSTs that failed for a reason other than 410 */
  deliveryErrors: 'DeliveryErrors',
  /** `@connections` answered 410: the target connection was gone */
  gone410: 'Gone410',
  /** `@connections` answered 429 LimitExceededException (each answer counted, retries included) */
  deliveryThrottled: 'DeliveryThrottled',
  /** Subscribers closed because delivery to them stayed throttled past the documented bound */
  slowSubscriberClosed: 'SlowSubscriberClosed',
  /** Messages dropped because an offline session's queue was full */
  queueOverflows: 'QueueOverflows',
  /** Ingress frames that failed on their last attempt: dead-lettered, their connection closed */
  ingressFailures: 'IngressFailures',
  /**
   * Numbered ingress frames that reached the queue behind a later frame of their connection
   * (restored within a batch, or too late to restore); see docs/ARCHITECTURE.md "Ordered ingress"
   */
  ingressReorders: 'IngressReorders',
  /** Sweeps that stopped before they finished (time budget or an error): the rest waits for the next */
  sweepIncomplete: 'SweepIncomplete',
} as const;

export type StratusMetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** Every metric name, in dashboard order. */
export const ALL_METRIC_NAMES: readonly StratusMetricName[] = Object.values(METRIC_NAMES);
