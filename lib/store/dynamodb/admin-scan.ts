/**
 * Whole-table listings for the admin CLI (`stratus sessions list`, `stratus retained list`): a
 * paged, eventually consistent Scan of one table. Never used on the message path, which reads by
 * key only; an operator runs these by hand.
 *
 * Cost: 0.5 read units per 4 KB scanned. A session item is about 300 bytes (10,000 sessions: about
 * 375 units); a retained item is its payload plus about 100 bytes.
 */
import { isExpired, systemClock, type Clock } from '../clock';
import type { RetainedRecord } from '../retained-port';
import type { SessionRecord } from '../session-port';
import { isLive } from '../session-rules';
import type { DynamoStoreOptions } from './connection-store';
import type { MeteredDynamoDb } from './metered';
import { fromRetainedItem } from './retained-codec';
import { sessionCodec, sessionRecord } from './session-codec';

/** Every live session, sorted by client id. */
export class DynamoSessionList {
  private readonly clock: Clock;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async list(): Promise<SessionRecord[]> {
    const now = this.clock();
    const records = (await this.db.scanAll({ TableName: this.tableName }))
      .map((item) => sessionRecord(sessionCodec.fromItem(item)))
      .filter((record) => isLive(record, now));
    return records.sort((a, b) => compare(a.clientId, b.clientId));
  }
}

/** Every live retained message, `$` topics included, sorted by topic. */
export class DynamoRetainedList {
  private readonly clock: Clock;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async list(): Promise<RetainedRecord[]> {
    const now = this.clock();
    const records: RetainedRecord[] = [];
    for (const item of await this.db.scanAll({ TableName: this.tableName })) {
      const decoded = fromRetainedItem(item);
      if (decoded === undefined) continue; // a tombstone
      if (decoded.expiresAt !== undefined && isExpired(decoded.expiresAt, now)) continue;
      if (decoded.record.messageExpiresAt !== null && decoded.record.messageExpiresAt <= now) continue;
      records.push(decoded.record);
    }
    return records.sort((a, b) => compare(a.topic, b.topic));
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
