/**
 * The one way the DynamoDB adapters talk to DynamoDB: every request asks for
 * `ReturnConsumedCapacity: 'TOTAL'` and reports what it consumed to the Meter.
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  TransactionConflictException,
  UpdateItemCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type ScanCommandInput,
  type TransactWriteItemsCommandInput,
  type UpdateItemCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { noopMeter, type Meter } from '../meter';
import { retryUntilDone, withRetry } from '../../retry';

type UnitKind = 'read' | 'write';

/**
 * Who reports ConsumedCapacity. AWS reports what it bills. DynamoDB Local (jar 2026-01-16) reports
 * a transaction per table as 2 x the units of ONE item, not the sum over the items, so against it
 * the meter bills each transactional item at least 2 units (exact for items under 1 KB, a lower
 * bound above) and marks such figures `estimated`.
 */
export type CapacityReporting = 'aws' | 'dynamodb-local';

export interface MeteredDynamoDbOptions {
  meter?: Meter;
  /** Default 'aws'; use `capacityReportingFor(endpoint)` of ./client */
  capacityReporting?: CapacityReporting;
}

/** The most requests one BatchWriteItem takes. */
const BATCH_WRITE_LIMIT = 25;
/** Waits before resending unprocessed requests: at most 25 ms, 50 ms, 100 ms... (full jitter). */
const BATCH_WRITE_BACKOFF = { baseDelayMs: 25, maxDelayMs: 2_000 } as const;

/**
 * A single-item write to an item that a transaction is writing at that moment is refused with
 * TransactionConflictException, which the SDK does not retry; it was not applied, so it is sent
 * again: at most 4 tries, waiting at most 10 ms, 20 ms, 40 ms (full jitter).
 */
const CONFLICT_RETRY = { attempts: 4, baseDelayMs: 10, maxDelayMs: 100 } as const;

/** AWS bills transactional writes at 2 units per item (per 1 KB). */
const TRANSACTION_UNITS_PER_ITEM = 2;

export class MeteredDynamoDb {
  readonly meter: Meter;
  private readonly capacityReporting: CapacityReporting;

  constructor(
    readonly client: DynamoDBClient,
    options: MeteredDynamoDbOptions = {},
  ) {
    this.meter = options.meter ?? noopMeter;
    this.capacityReporting = options.capacityReporting ?? 'aws';
  }

  async getItem(input: GetItemCommandInput) {
    const out = await this.client.send(new GetItemCommand({ ...input, ReturnConsumedCapacity: 'TOTAL' }));
    this.reportRead('GetItem', out.ConsumedCapacity, input.ConsistentRead === true);
    return out;
  }

  async query(input: QueryCommandInput) {
    const out = await this.client.send(new QueryCommand({ ...input, ReturnConsumedCapacity: 'TOTAL' }));
    this.reportRead('Query', out.ConsumedCapacity, input.ConsistentRead === true);
    return out;
  }

  /** Every item of a Query, following LastEvaluatedKey past the 1 MB page limit (one request per page). */
  async queryAll(input: QueryCommandInput): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.query({ ...input, ExclusiveStartKey: start });
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /**
   * Every item of a Scan, page by page (eventually consistent unless asked). Each page is reported
   * at no less than 0.5 read units, the least AWS bills for a read request.
   */
  async scanAll(input: Omit<ScanCommandInput, 'ExclusiveStartKey' | 'ReturnConsumedCapacity'>): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(new ScanCommand({ ...input, ExclusiveStartKey: start, ReturnConsumedCapacity: 'TOTAL' }));
      const reported = out.ConsumedCapacity?.CapacityUnits ?? 0;
      this.meter.record({
        operation: 'Scan',
        table: input.TableName ?? '',
        readUnits: Math.max(reported, 0.5),
        writeUnits: 0,
        ...(reported < 0.5 && { estimated: true }),
      });
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /**
   * Writes (puts or deletes) in BatchWriteItem requests of 25, retrying unprocessed requests with
   * backoff (lib/retry.ts). Returns false if some were still unprocessed after `maxAttempts` tries
   * of a batch (the caller names the failure).
   */
  async batchWriteAll(tableName: string, requests: readonly WriteRequest[], maxAttempts: number): Promise<boolean> {
    const policy = { ...BATCH_WRITE_BACKOFF, attempts: maxAttempts };
    for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) {
      let pending = requests.slice(i, i + BATCH_WRITE_LIMIT);
      const written = await retryUntilDone(policy, async () => {
        const out = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }),
        );
        for (const c of out.ConsumedCapacity ?? []) {
          const writeUnits = c.WriteCapacityUnits ?? c.CapacityUnits ?? 0;
          this.meter.record({ operation: 'BatchWriteItem', table: c.TableName ?? tableName, readUnits: 0, writeUnits });
        }
        pending = out.UnprocessedItems?.[tableName] ?? [];
        return pending.length === 0;
      });
      if (!written) return false;
    }
    return true;
  }

  async putItem(input: PutItemCommandInput) {
    const out = await this.write('PutItem', input.TableName, () =>
      this.client.send(new PutItemCommand({ ...input, ReturnConsumedCapacity: 'TOTAL' })),
    );
    this.report('PutItem', 'write', out.ConsumedCapacity);
    return out;
  }

  async updateItem(input: UpdateItemCommandInput) {
    const out = await this.write('UpdateItem', input.TableName, () =>
      this.client.send(new UpdateItemCommand({ ...input, ReturnConsumedCapacity: 'TOTAL' })),
    );
    this.report('UpdateItem', 'write', out.ConsumedCapacity);
    return out;
  }

  async deleteItem(input: DeleteItemCommandInput) {
    const out = await this.write('DeleteItem', input.TableName, () =>
      this.client.send(new DeleteItemCommand({ ...input, ReturnConsumedCapacity: 'TOTAL' })),
    );
    this.report('DeleteItem', 'write', out.ConsumedCapacity);
    return out;
  }

  async transactWriteItems(input: TransactWriteItemsCommandInput) {
    const out = await this.client.send(new TransactWriteItemsCommand({ ...input, ReturnConsumedCapacity: 'TOTAL' }));
    const perTable = new Map<string, number>();
    for (const action of input.TransactItems ?? []) {
      const table = (action.Put ?? action.Update ?? action.Delete ?? action.ConditionCheck)?.TableName ?? '';
      perTable.set(table, (perTable.get(table) ?? 0) + 1);
    }
    this.reportTransaction('TransactWriteItems', out.ConsumedCapacity, perTable);
    return out;
  }

  /**
   * Runs a single-item write, sent again after a TransactionConflictException (CONFLICT_RETRY). A
   * write whose condition fails is still billed, but the exception carries no ConsumedCapacity:
   * record an estimated 1 write unit (an item under 1 KB).
   */
  private async write<T>(operation: string, table: string | undefined, send: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(CONFLICT_RETRY, (error) => error instanceof TransactionConflictException, send);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        this.meter.record({ operation, table: table ?? '', readUnits: 0, writeUnits: 1, estimated: true });
      }
      throw error;
    }
  }

  private report(operation: string, kind: UnitKind, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const list = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
    for (const c of list) {
      const [readUnits, writeUnits] = splitUnits(kind, c);
      this.meter.record({ operation, table: c.TableName ?? '', readUnits, writeUnits });
    }
  }

  /**
   * AWS bills every read request at least 0.5 units (eventually consistent) or 1 (strongly
   * consistent), even one that finds nothing. DynamoDB Local sometimes reports 0 (a keys-only
   * index query that finds items), so a 0 becomes that minimum, marked as estimated.
   */
  private reportRead(operation: string, consumed: ConsumedCapacity | undefined, consistent: boolean): void {
    if (consumed === undefined) return;
    const reported = splitUnits('read', consumed)[0];
    const minimum = consistent ? 1 : 0.5;
    if (reported >= minimum) return this.report(operation, 'read', consumed);
    this.meter.record({ operation, table: consumed.TableName ?? '', readUnits: minimum, writeUnits: 0, estimated: true });
  }

  private reportTransaction(operation: string, consumed: ConsumedCapacity[] | undefined, itemsPerTable: Map<string, number>): void {
    if (this.capacityReporting === 'aws') return this.report(operation, 'write', consumed);
    for (const c of consumed ?? []) {
      const table = c.TableName ?? '';
      const reported = splitUnits('write', c)[1];
      const units = Math.max(reported, TRANSACTION_UNITS_PER_ITEM * (itemsPerTable.get(table) ?? 1));
      this.meter.record({ operation, table, readUnits: 0, writeUnits: units, ...(units !== reported && { estimated: true }) });
    }
  }
}

/** Read and write units of one ConsumedCapacity; TOTAL may give only CapacityUnits. */
function splitUnits(kind: UnitKind, c: ConsumedCapacity): [number, number] {
  if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
    return [c.ReadCapacityUnits ?? 0, c.WriteCapacityUnits ?? 0];
  }
  const units = c.CapacityUnits ?? 0;
  return kind === 'read' ? [units, 0] : [0, units];
}
