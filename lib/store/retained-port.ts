/**
 * Retained messages: one record per topic [MQTT-3.3.1-5], last writer wins by gateway arrival
 * time (`requestTimeEpoch`), even when two publishes are processed out of order: a write carries
 * its arrival time and succeeds only over an older one. A delete [MQTT-3.3.1-6] [MQTT-3.3.1-7] leaves a
 * tombstone with its arrival time (for a short TTL), so an older publish that arrives later
 * cannot bring the message back.
 *
 * Records live under the topic's first level and are sorted by topic: `matching(filter)` queries
 * the filter's literal prefix (begins_with), so it reads in proportion to the retained topics
 * under that prefix, not to all retained messages. A filter that starts with a wildcard has no
 * literal prefix and reads every retained message: the cost is stated in docs/COST.md.
 */
import type { Properties, QoS } from '../mqtt/types';

export interface RetainedRecord {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  properties?: Properties;
  /** Gateway arrival time of the PUBLISH that set it: last writer wins */
  requestTimeEpoch: number;
  /** When the broker received it, epoch ms (for the remaining Message Expiry Interval) */
  receivedAt: number;
  /** When its Message Expiry Interval ends, epoch ms; null: never */
  messageExpiresAt: number | null;
}

export type RetainedWriteResult = 'written' | 'stale';

export interface RetainedStore {
  /** Stores or replaces the topic's message unless a newer write (or delete) is stored: 'stale'. */
  put(record: RetainedRecord): Promise<RetainedWriteResult>;
  /** Deletes the topic's message unless a newer write is stored; leaves a tombstone. */
  delete(topic: string, requestTimeEpoch: number): Promise<RetainedWriteResult>;
  /** Live (not deleted, not expired) retained messages whose topic matches the topic filter. */
  matching(topicFilter: string, now?: number): Promise<RetainedRecord[]>;
  /** The topic's live message, if any (tests and the CLI). */
  get(topic: string, now?: number): Promise<RetainedRecord | undefined>;
}
