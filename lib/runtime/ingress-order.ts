/**
 * Restoring a connection's order before the queue (docs/ARCHITECTURE.md "Ordered ingress").
 * AWS does not document that API Gateway hands one connection's frames to the SQS integration one
 * at a time, so two frames may reach the queue swapped. The Stratus transport and the bridge
 * number their messages (`<seq>:<base64>`, docs/TRANSPORT.md section 3); the consumer uses the
 * numbers to put back in order what it can see:
 *
 * - Within a batch: when every frame of the connection is numbered, they are handled by sequence
 *   number (a sort that keeps arrival order for equal numbers); its closes stay after them.
 * - Across batches: a bounded in-container map keeps the highest number handled per connection.
 *   A frame numbered below it arrived after a later one was handled: too late to restore (a FIFO
 *   group is handed out again in the same order, so waiting for a missing frame would mean not
 *   consuming the later one). It is handled where it is, counted and logged.
 *
 * A reorder is a frame that arrived behind a later frame of its connection: one per swap, whether
 * restored or not, counted on the frame's first receive (a retry is not a new reorder). Nothing
 * here reads or writes DynamoDB.
 */
import type { IngressRecord } from '../gateway/ingress';

/** Connections whose highest handled number a container remembers, least recently used dropped first. */
export const TRACKED_CONNECTIONS = 10_000;

/** The highest sequence number handled per connection in this container: a bounded LRU map. */
export class HandledSeqs {
  private readonly highest = new Map<string, number>();

  constructor(private readonly capacity: number = TRACKED_CONNECTIONS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be at least 1');
  }

  get(connectionId: string): number | undefined {
    return this.highest.get(connectionId);
  }

  /** A numbered frame was handled successfully. */
  handled(connectionId: string, seq: number): void {
    const previous = this.highest.get(connectionId);
    this.highest.delete(connectionId);
    this.highest.set(connectionId, previous === undefined ? seq : Math.max(previous, seq));
    // A Map iterates in insertion order: the first key is the least recently used.
    while (this.highest.size > this.capacity) this.highest.delete(this.highest.keys().next().value as string);
  }

  /** The connection closed: nothing more will come from it. */
  forget(connectionId: string): void {
    this.highest.delete(connectionId);
  }

  get size(): number {
    return this.highest.size;
  }
}

/** How to handle one connection's records of a batch. */
export interface ConnectionPlan {
  /** The records in the order to handle them. */
  readonly order: readonly IngressRecord[];
  /** Records that arrived behind a later frame of the connection: restored here, or late. */
  readonly reorders: number;
  /** Of those, the ones behind a frame handled in an earlier batch: handled where they are. */
  readonly late: readonly IngressRecord[];
}

/**
 * One connection's records, in arrival order, and the highest number this container handled for
 * it before: the order to handle them in, and the reorders seen.
 */
export function planConnection(arrival: readonly IngressRecord[], handledBefore: number | undefined): ConnectionPlan {
  const messages = arrival.filter((r) => r.type === 'MESSAGE');
  // A client numbers all messages of a connection or none; a mix is served as it came.
  if (messages.length === 0 || messages.some((r) => seqOf(r) === undefined)) return { order: arrival, reorders: 0, late: [] };
  const late: IngressRecord[] = [];
  let reorders = 0;
  let top = 0;
  for (const record of messages) {
    const seq = seqOf(record) as number;
    if (handledBefore !== undefined && seq <= handledBefore) {
      // At or below what was handled before: a frame too late to restore, or, handed out again,
      // one handled before whose batch was not acknowledged (not a reorder).
      if (seq < handledBefore && record.receiveCount === 1) late.push(record);
    } else if (seq < top && record.receiveCount === 1) {
      // Counted on the first receive only: a retried batch keeps the queue's order, swap included.
      reorders++;
    }
    top = Math.max(top, seq);
  }
  const sorted = [...messages].sort((a, b) => (seqOf(a) as number) - (seqOf(b) as number));
  return { order: [...sorted, ...arrival.filter((r) => r.type === 'DISCONNECT')], reorders: reorders + late.length, late };
}

/** A record's sequence number, for a numbered frame. */
export function seqOf(record: IngressRecord): number | undefined {
  return record.type === 'MESSAGE' ? record.seq : undefined;
}
