/**
 * Local mode's swap before the queue (the gateway option `swapFraction`): AWS does not document
 * that API Gateway hands one connection's frames to the SQS integration one at a time, so two
 * frames might reach the queue swapped. This reproduces that, to exercise the consumer's restoring
 * of order (lib/runtime/ingress-order.ts).
 *
 * With probability `fraction` a frame is held; the connection's next frame is then written, and the
 * held one right behind it, in one synchronous step and as one unit of the queue (`sendTogether`),
 * so both reach the consumer in one batch. A held frame is never lost: it goes alone after `holdMs`
 * if no frame follows, and before the connection's close. Every swap performed is counted.
 */
import type { IngressSend } from './ingress-queue';

/** Where the frames go: the FIFO queue (./ingress-queue.ts). */
export interface SwapSink {
  send(send: IngressSend): unknown;
  sendTogether(sends: readonly IngressSend[]): void;
}

export interface IngressSwapOptions {
  /** Probability (0..1) that a frame is held for a swap. */
  readonly fraction: number;
  /** How long a held frame waits for the next one. @default SWAP_HOLD_MS */
  readonly holdMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** How long a held frame waits for its connection's next frame before it goes alone. */
export const SWAP_HOLD_MS = 20;

interface Held {
  readonly send: IngressSend;
  readonly timer: NodeJS.Timeout;
}

export class IngressSwap {
  private readonly held = new Map<string, Held>();
  private readonly fraction: number;
  private readonly holdMs: number;
  private readonly random: () => number;
  private performed = 0;

  constructor(
    private readonly sink: SwapSink,
    options: IngressSwapOptions,
  ) {
    if (!(options.fraction >= 0 && options.fraction <= 1)) throw new RangeError('fraction must be from 0 to 1');
    this.fraction = options.fraction;
    this.holdMs = options.holdMs ?? SWAP_HOLD_MS;
    this.random = options.random ?? Math.random;
  }

  /** Swaps performed so far: pairs written in the opposite order of their arrival. */
  get swaps(): number {
    return this.performed;
  }

  /** A frame of a connection (its group): written now, held, or written ahead of the one held. */
  frame(send: IngressSend): void {
    const held = this.take(send.groupId);
    if (held !== undefined) {
      this.sink.sendTogether([send, held]);
      this.performed++;
      return;
    }
    if (this.fraction > 0 && this.random() < this.fraction) {
      const timer = setTimeout(() => this.release(send.groupId), this.holdMs);
      timer.unref();
      this.held.set(send.groupId, { send, timer });
      return;
    }
    this.sink.send(send);
  }

  /** Writes the connection's held frame, if any: before its close, or when its wait is over. */
  release(groupId: string): void {
    const held = this.take(groupId);
    if (held !== undefined) this.sink.send(held);
  }

  /** Writes every held frame (the gateway is stopping). */
  releaseAll(): void {
    for (const groupId of [...this.held.keys()]) this.release(groupId);
  }

  private take(groupId: string): IngressSend | undefined {
    const held = this.held.get(groupId);
    if (held === undefined) return undefined;
    clearTimeout(held.timer);
    this.held.delete(groupId);
    return held.send;
  }
}
