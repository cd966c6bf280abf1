/**
 * In-memory ConnectionStore for unit tests. Same contract as the DynamoDB adapter: expiry is
 * filtered on every read, and each operation is atomic (it runs within one turn of the event loop,
 * the way a conditional write runs within one request).
 */
import { isExpired, systemClock, type Clock } from '../clock';
import { AlreadyConnectedError, ConnectionNotFoundError } from '../errors';
import type { ConnectionRecord, ConnectionStore, MqttConnectionFields, NewConnection } from '../connection-port';
import type { ConnectionPage, ConnectionScan } from '../scan';
import type { TransportMode } from '../../api-gateway';

export interface MemoryStoreOptions {
  clock?: Clock;
}

export class MemoryConnectionStore implements ConnectionStore, ConnectionScan {
  private readonly items = new Map<string, ConnectionRecord>();
  private readonly clock: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async open(connection: NewConnection): Promise<ConnectionRecord> {
    const record: ConnectionRecord = { ...withoutUndefined(connection), status: 'open' };
    this.items.set(record.connectionId, record);
    return structuredClone(record);
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const record = this.live(connectionId);
    return record && structuredClone(record);
  }

  async markConnected(connectionId: string, fields: MqttConnectionFields): Promise<ConnectionRecord> {
    const record = this.live(connectionId);
    if (!record) throw new ConnectionNotFoundError(connectionId);
    if (record.status !== 'open') throw new AlreadyConnectedError(connectionId);
    const updated: ConnectionRecord = { ...record, ...withoutUndefined(fields), status: 'mqtt' };
    this.items.set(connectionId, updated);
    return structuredClone(updated);
  }

  async setMode(connectionId: string, mode: TransportMode): Promise<void> {
    const record = this.live(connectionId);
    if (!record) throw new ConnectionNotFoundError(connectionId);
    this.items.set(connectionId, { ...record, mode });
  }

  async remove(connectionId: string): Promise<ConnectionRecord | undefined> {
    const record = this.live(connectionId);
    this.items.delete(connectionId);
    return record && structuredClone(record);
  }

  async page(cursor?: string, limit = 100): Promise<ConnectionPage> {
    // Keyed like DynamoDB's LastEvaluatedKey, so deleting records between pages skips none.
    const keys = [...this.items.keys()].sort().filter((key) => cursor === undefined || key > cursor);
    const records = keys.slice(0, limit).map((key) => structuredClone(this.items.get(key) as ConnectionRecord));
    return keys.length > limit ? { records, cursor: keys[limit - 1] } : { records };
  }

  private live(connectionId: string): ConnectionRecord | undefined {
    const record = this.items.get(connectionId);
    if (record === undefined || isExpired(record.expiresAt, this.clock())) return undefined;
    return record;
  }
}

/** Optional fields that are undefined are absent, as they are after a DynamoDB round trip. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
