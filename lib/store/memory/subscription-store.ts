/**
 * In-memory SubscriptionStore for unit tests: the same contract as the DynamoDB adapter. Records
 * are keyed by (clientId, filter as sent), so a shared and a non-shared subscription to one topic
 * filter are two records; `routesFor` returns the records whose route key
 * (`routeKey(topicFilter)`) is a candidate of the topic, exactly what the DynamoDB Queries
 * return (newest epoch per client), and expired records are invisible to every read. Writes with a
 * SessionWriter check `sessions` (the memory SessionStore) and write in the same turn.
 */
import { candidateRouteKeys, routeKey } from '../../mqtt/topic';
import { isExpired, systemClock, type Clock } from '../clock';
import { SessionTakenOverError } from '../errors';
import type { SessionStore } from '../session-port';
import type { MemoryStoreOptions } from './connection-store';
import type {
  AttachOptions,
  EpochScope,
  SessionWriter,
  SubscriberConnection,
  SubscriptionRecord,
  SubscriptionStore,
} from '../subscription-port';
import { inScope, lastPerFilter, newestEpochOnly } from '../subscription-rules';

export interface MemorySubscriptionStoreOptions extends MemoryStoreOptions {
  /** The session store that writes with a SessionWriter are checked against. */
  sessions?: Pick<SessionStore, 'get'>;
}

export class MemorySubscriptionStore implements SubscriptionStore {
  /** key: clientId + NUL + filter (NUL never occurs in an MQTT string [MQTT-1.5.4-2]) */
  private readonly items = new Map<string, SubscriptionRecord>();
  private readonly clock: Clock;
  private readonly sessions?: Pick<SessionStore, 'get'>;

  constructor(options: MemorySubscriptionStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.sessions = options.sessions;
  }

  async routesFor(topic: string): Promise<SubscriptionRecord[]> {
    const candidates = new Set(candidateRouteKeys(topic));
    return newestEpochOnly(this.live().filter((record) => candidates.has(routeKey(record.topicFilter)))).map((record) =>
      structuredClone(record),
    );
  }

  async listByClient(clientId: string): Promise<SubscriptionRecord[]> {
    return this.live()
      .filter((record) => record.clientId === clientId)
      .sort((a, b) => (a.filter < b.filter ? -1 : a.filter > b.filter ? 1 : 0))
      .map((record) => structuredClone(record));
  }

  async put(records: readonly SubscriptionRecord[], writer?: SessionWriter): Promise<void> {
    if (records.length === 0) return;
    if (writer !== undefined) await this.checkOwner(records[0].clientId, writer);
    for (const record of lastPerFilter(records)) {
      this.items.set(keyOf(record.clientId, record.filter), normalized(record));
    }
  }

  async delete(clientId: string, filters: readonly string[], writer?: SessionWriter): Promise<void> {
    if (writer !== undefined) await this.checkOwner(clientId, writer);
    for (const filter of filters) this.items.delete(keyOf(clientId, filter));
  }

  async attach(
    clientId: string,
    sessionEpoch: string,
    connection: SubscriberConnection | null,
    expiresAt: number,
    options: AttachOptions = {},
  ): Promise<void> {
    for (const record of await this.listByClient(clientId)) {
      const key = keyOf(clientId, record.filter);
      if (!inScope(record.sessionEpoch, { through: sessionEpoch })) continue; // a newer session's: not this attach's
      if (record.sessionEpoch !== sessionEpoch || options.drop?.(record.filter) === true) {
        this.items.delete(key);
        continue;
      }
      if (options.onlyIfConnectionId !== undefined && record.connection?.connectionId !== options.onlyIfConnectionId) continue;
      const { connection: _old, ...rest } = record;
      const updated: SubscriptionRecord = connection === null ? rest : { ...rest, connection: withoutUndefined(connection) };
      this.items.set(key, { ...updated, expiresAt, ...(options.persistent === undefined ? {} : { persistent: options.persistent }) });
    }
  }

  async deleteAll(clientId: string, scope: EpochScope): Promise<void> {
    for (const [key, record] of this.items) {
      if (record.clientId === clientId && inScope(record.sessionEpoch, scope)) this.items.delete(key);
    }
  }

  async setExpiry(clientId: string, sessionEpoch: string, expiresAt: number): Promise<void> {
    for (const record of await this.listByClient(clientId)) {
      if (record.sessionEpoch === sessionEpoch) this.items.set(keyOf(clientId, record.filter), { ...record, expiresAt });
    }
  }

  /** The writer must own the live session under its epoch; the caller writes in the same turn. */
  private async checkOwner(clientId: string, writer: SessionWriter): Promise<void> {
    if (this.sessions === undefined) throw new Error('MemorySubscriptionStore: writes with a SessionWriter need `sessions`');
    const session = await this.sessions.get(clientId);
    if (session?.sessionEpoch !== writer.sessionEpoch || session.connectionId !== writer.connectionId) {
      throw new SessionTakenOverError(clientId, writer.connectionId);
    }
  }

  private live(): SubscriptionRecord[] {
    const now = this.clock();
    return [...this.items.values()].filter((record) => !isExpired(record.expiresAt, now));
  }
}

function keyOf(clientId: string, filter: string): string {
  return `${clientId}\u0000${filter}`;
}

/** A deep copy without undefined optional fields, the way a record comes back from DynamoDB. */
function normalized(record: SubscriptionRecord): SubscriptionRecord {
  const copy = structuredClone(withoutUndefined(record));
  if (record.connection !== undefined) copy.connection = withoutUndefined(copy.connection as SubscriberConnection);
  return copy;
}

/** Optional fields that are undefined are absent, as they are after a DynamoDB round trip. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
