/**
 * Paged reading of every connection record, for the sweeper only (never on the message path:
 * matching and delivery never scan a table). A page includes expired records, so the sweeper can
 * clean up what TTL has not deleted yet.
 *
 * Cost: an eventually consistent Scan reads 0.5 units per 4 KB; a connection record is about
 * 200 bytes, so one sweep of 10,000 connections reads about 250 units.
 */
import type { ConnectionRecord } from './connection-port';

export interface ConnectionPage {
  readonly records: ConnectionRecord[];
  /** Pass back to read the next page; absent on the last page. */
  readonly cursor?: string;
}

export interface ConnectionScan {
  page(cursor?: string, limit?: number): Promise<ConnectionPage>;
}
