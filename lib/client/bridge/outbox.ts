/**
 * Micro-batching of one connection's upstream packets. Whole packets go in; whole messages come
 * out, each holding one or more whole packets back to back, because the broker handles every
 * client message on its own and refuses one that ends inside a packet (docs/TRANSPORT.md,
 * section 3). Packets keep their order across and within messages.
 *
 * - `batchMs` 0: every `add` (one read from the client) is sent at once, packed.
 * - `batchMs` N: packets are held up to N ms after the first one arrives, or until `batchBytes`
 *   are held, then sent packed.
 * A message holds at most `batchBytes` bytes, unless a single packet is bigger: it goes alone.
 */

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface OutboxOptions {
  readonly batchMs: number;
  readonly batchBytes: number;
}

export class Outbox {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private timer: unknown;

  constructor(
    private readonly options: OutboxOptions,
    /** Sends one message: the concatenation of whole packets. */
    private readonly send: (message: Uint8Array, packets: number) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Bytes held, not yet handed to `send`. */
  get held(): number {
    return this.pendingBytes;
  }

  /** Queues whole packets, in order; sends now or later per the batching options. */
  add(packets: readonly Uint8Array[]): void {
    for (const packet of packets) {
      this.pending.push(packet);
      this.pendingBytes += packet.length;
    }
    if (this.pending.length === 0) return;
    if (this.options.batchMs === 0 || this.pendingBytes >= this.options.batchBytes) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = this.timers.set(() => {
        this.timer = undefined;
        this.flush();
      }, this.options.batchMs);
    }
  }

  /** Sends everything held now. */
  flush(): void {
    this.stopTimer();
    const packets = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const group of groupPackets(packets, this.options.batchBytes)) this.send(concat(group), group.length);
  }

  /** Drops everything held (the connection is gone). */
  discard(): void {
    this.stopTimer();
    this.pending = [];
    this.pendingBytes = 0;
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    this.timers.clear(this.timer);
    this.timer = undefined;
  }
}

/**
 * Splits packets, in order, into groups of at most `maxBytes` bytes each; a packet bigger than
 * `maxBytes` forms a group of its own. Never splits a packet.
 */
export function groupPackets(packets: readonly Uint8Array[], maxBytes: number): Uint8Array[][] {
  const groups: Uint8Array[][] = [];
  let group: Uint8Array[] = [];
  let size = 0;
  for (const packet of packets) {
    if (group.length > 0 && size + packet.length > maxBytes) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(packet);
    size += packet.length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
