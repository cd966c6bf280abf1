/**
 * Metering of DynamoDB capacity: DynamoDB requests are what our users pay for, so the DynamoDB
 * adapter reports every request here. Benchmarks and docs/COST.md read a CountingMeter snapshot
 * per MQTT operation (reset, run the operation, snapshot).
 */

/** One request's consumption on one table (a transaction over two tables yields two). */
export interface CapacityUsage {
  /** DynamoDB API name, e.g. 'PutItem', 'TransactWriteItems' */
  readonly operation: string;
  /** Physical table name, as DynamoDB reports it */
  readonly table: string;
  readonly readUnits: number;
  readonly writeUnits: number;
  /**
   * True when DynamoDB returned no figure and the adapter estimated it, e.g. a write whose
   * condition failed (still billed, but the exception carries no ConsumedCapacity).
   */
  readonly estimated?: boolean;
}

/** The port: where adapters report consumption. */
export interface Meter {
  record(usage: CapacityUsage): void;
}

export const noopMeter: Meter = { record: () => undefined };

export interface UsageTotals {
  /** Number of usage records: requests, counting a multi-table transaction once per table */
  requests: number;
  readUnits: number;
  writeUnits: number;
}

export interface MeterSnapshot extends UsageTotals {
  byOperation: Record<string, UsageTotals>;
  byTable: Record<string, UsageTotals>;
  entries: CapacityUsage[];
}

function emptyTotals(): UsageTotals {
  return { requests: 0, readUnits: 0, writeUnits: 0 };
}

function add(totals: UsageTotals, usage: CapacityUsage): void {
  totals.requests += 1;
  totals.readUnits += usage.readUnits;
  totals.writeUnits += usage.writeUnits;
}

/** Counts everything it is told; `take()` snapshots and resets in one step. */
export class CountingMeter implements Meter {
  private entries: CapacityUsage[] = [];

  record(usage: CapacityUsage): void {
    this.entries.push({ ...usage });
  }

  reset(): void {
    this.entries = [];
  }

  snapshot(): MeterSnapshot {
    const snapshot: MeterSnapshot = { ...emptyTotals(), byOperation: {}, byTable: {}, entries: [] };
    for (const usage of this.entries) {
      add(snapshot, usage);
      add((snapshot.byOperation[usage.operation] ??= emptyTotals()), usage);
      add((snapshot.byTable[usage.table] ??= emptyTotals()), usage);
      snapshot.entries.push({ ...usage });
    }
    return snapshot;
  }

  /** Snapshot, then reset: the cost of whatever ran since the last reset. */
  take(): MeterSnapshot {
    const snapshot = this.snapshot();
    this.reset();
    return snapshot;
  }
}
