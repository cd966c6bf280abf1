/**
 * The in-memory counterparts of ../dynamodb/admin-scan.ts, for unit tests of the admin CLI: the
 * memory session and retained stores, plus `list()`. They remember every key they were given and
 * read each one back through the public API, so expiry and tombstones apply exactly as in `get`.
 */
import type { ClaimRequest, ClaimResult, SessionRecord } from '../session-port';
import type { RetainedRecord, RetainedWriteResult } from '../retained-port';
import { MemoryRetainedStore } from './retained-store';
import { MemorySessionStore } from './session-store';

/** A MemorySessionStore that can list every live session, sorted by client id. */
export class ListableMemorySessionStore extends MemorySessionStore {
  private readonly clientIds = new Set<string>();

  override async claim(request: ClaimRequest): Promise<ClaimResult> {
    const result = await super.claim(request);
    this.clientIds.add(request.clientId);
    return result;
  }

  async list(): Promise<SessionRecord[]> {
    const records = await Promise.all([...this.clientIds].sort().map((id) => this.get(id)));
    return records.filter((record): record is SessionRecord => record !== undefined);
  }
}

/** A MemoryRetainedStore that can list every live retained message, `$` topics included. */
export class ListableMemoryRetainedStore extends MemoryRetainedStore {
  private readonly topics = new Set<string>();

  override async put(record: RetainedRecord): Promise<RetainedWriteResult> {
    this.topics.add(record.topic);
    return super.put(record);
  }

  async list(): Promise<RetainedRecord[]> {
    const records = await Promise.all([...this.topics].sort().map((topic) => this.get(topic)));
    return records.filter((record): record is RetainedRecord => record !== undefined);
  }
}
