/**
 * In-memory RetainedStore for unit tests: the same contract as the DynamoDB adapter. One entry per
 * topic: the message, or a tombstone left by a delete; a write succeeds only over an older one
 * (gateway arrival time), so publishes processed out of order settle on the newest.
 */
import { matches } from '../../mqtt/topic';
import { epochSeconds, isExpired, systemClock, type Clock } from '../clock';
import type { RetainedRecord, RetainedStore, RetainedWriteResult } from '../retained-port';
import type { MemoryStoreOptions } from './connection-store';

/** How long a tombstone keeps an older publish from bringing a deleted message back. */
const TOMBSTONE_TTL_SECONDS = 24 * 3600;

interface Entry {
  requestTimeEpoch: number;
  /** absent: a tombstone */
  record?: RetainedRecord;
  /** TTL, epoch seconds; absent for a message without expiry */
  expiresAt?: number;
}

export class MemoryRetainedStore implements RetainedStore {
  private readonly items = new Map<string, Entry>();
  private readonly clock: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async put(record: RetainedRecord): Promise<RetainedWriteResult> {
    const expiresAt = record.messageExpiresAt === null ? undefined : Math.ceil(record.messageExpiresAt / 1000);
    return this.write(record.topic, { requestTimeEpoch: record.requestTimeEpoch, record: copyOf(record), expiresAt });
  }

  async delete(topic: string, requestTimeEpoch: number): Promise<RetainedWriteResult> {
    return this.write(topic, { requestTimeEpoch, expiresAt: epochSeconds(this.clock()) + TOMBSTONE_TTL_SECONDS });
  }

  async matching(topicFilter: string, now?: number): Promise<RetainedRecord[]> {
    const at = now ?? this.clock();
    return [...this.items.entries()]
      .filter(([topic]) => matches(topicFilter, topic))
      .map(([, entry]) => live(entry, at))
      .filter((record): record is RetainedRecord => record !== undefined)
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))
      .map((record) => structuredClone(record));
  }

  async get(topic: string, now?: number): Promise<RetainedRecord | undefined> {
    const entry = this.items.get(topic);
    const record = entry && live(entry, now ?? this.clock());
    return record && structuredClone(record);
  }

  /** Last writer wins: the write replaces the entry only if none is stored or it is older. */
  private write(topic: string, entry: Entry): RetainedWriteResult {
    const old = this.items.get(topic);
    if (old !== undefined && old.requestTimeEpoch >= entry.requestTimeEpoch) return 'stale';
    this.items.set(topic, entry);
    return 'written';
  }
}

/** A deep copy; an undefined `properties` is left out, as after a DynamoDB round trip. */
function copyOf(record: RetainedRecord): RetainedRecord {
  const { properties, ...rest } = structuredClone(record);
  return properties === undefined ? rest : { ...rest, properties };
}

/** The message if the entry holds one that has neither expired nor outlived its TTL. */
function live(entry: Entry, now: number): RetainedRecord | undefined {
  const record = entry.record;
  if (record === undefined) return undefined;
  if (entry.expiresAt !== undefined && isExpired(entry.expiresAt, now)) return undefined;
  if (record.messageExpiresAt !== null && record.messageExpiresAt <= now) return undefined;
  return record;
}
