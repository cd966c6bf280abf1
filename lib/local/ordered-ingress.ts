/**
 * The local gateway's ordered ingress (docs/ARCHITECTURE.md "Ordered ingress"): what API
 * Gateway's SQS service integration and Lambda's event source mapping do on AWS, in process.
 * Each frame of a connection, and its close, becomes one message of the FIFO queue
 * (./ingress-queue.ts) in the connection's group, written as the request templates of
 * lib/ingress-wire.ts write it; a bounded pool of consumers (./event-source-mapping.ts) hands
 * batches to the ingress handler. Messages that exhaust their receives land in a dead-letter list,
 * logged and inspectable. With `swapFraction`, a fraction of the frames reach the queue swapped
 * with their connection's next frame (./ingress-swap.ts).
 */
import { DISCONNECT_BODY, INGRESS_ATTRIBUTES, STATUS_CODE_PREFIX, type IngressMessage } from '../ingress-wire';
import type { Logger } from '../log';
import { EventSourceMapping, type IngressHandler } from './event-source-mapping';
import type { ConnectionContext } from './events';
import { newGatewayId } from './events';
import { FifoQueue, type DeadLetter, type IngressSend } from './ingress-queue';
import { IngressSwap } from './ingress-swap';
import type { LocalGatewayConfig } from './options';

/** The gateway options that shape the queue and its consumers (./options.ts). */
export type OrderedIngressOptions = Pick<LocalGatewayConfig, 'ingressConsumers' | 'visibilityTimeoutMs' | 'maxReceiveCount' | 'jitterMs' | 'swapFraction'>;

/** SQS accepts these characters only in a message body; an empty body is refused too. */
const SQS_BODY = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u;

export class OrderedIngress {
  private readonly queue: FifoQueue;
  private readonly mapping: EventSourceMapping;
  private readonly log: Logger;
  /** Frames go through it to the queue: it swaps a fraction of them (`swapFraction`). */
  private readonly swap: IngressSwap;

  /** `random`: the swap's draws (tests make them predictable). */
  constructor(handler: IngressHandler, options: OrderedIngressOptions, log: Logger, random: () => number = Math.random) {
    this.log = log;
    this.queue = new FifoQueue({
      visibilityTimeoutMs: options.visibilityTimeoutMs,
      maxReceiveCount: options.maxReceiveCount,
      onDeadLetter: (message) => this.onDeadLetter(message),
    });
    this.swap = new IngressSwap(this.queue, { fraction: options.swapFraction, random });
    this.mapping = new EventSourceMapping(this.queue, handler, {
      concurrency: options.ingressConsumers,
      jitterMs: options.jitterMs,
      log,
    });
  }

  /** `$default`: a frame's body (the text, or lenient mode's base64 of binary packets). */
  frame(context: ConnectionContext, body: string, isBinary: boolean, arrivalEpochMs: number): void {
    const send: IngressSend = {
      groupId: context.connectionId,
      deduplicationId: newGatewayId(),
      body,
      attributes: {
        [INGRESS_ATTRIBUTES.eventType]: 'MESSAGE',
        [INGRESS_ATTRIBUTES.requestTimeEpoch]: String(arrivalEpochMs),
        ...(isBinary ? { [INGRESS_ATTRIBUTES.binary]: 'true' } : {}),
      },
    };
    if (this.accepts(send)) this.swap.frame(send);
  }

  /** `$disconnect`: the close, behind the connection's frames (a held one included). */
  close(context: ConnectionContext, statusCode: number, epochMs: number): void {
    this.swap.release(context.connectionId);
    const send: IngressSend = {
      groupId: context.connectionId,
      deduplicationId: newGatewayId(),
      body: DISCONNECT_BODY,
      attributes: {
        [INGRESS_ATTRIBUTES.eventType]: 'DISCONNECT',
        [INGRESS_ATTRIBUTES.requestTimeEpoch]: String(epochMs),
        [INGRESS_ATTRIBUTES.disconnectStatusCode]: `${STATUS_CODE_PREFIX}${statusCode}`,
      },
    };
    if (this.accepts(send)) this.queue.send(send);
  }

  /**
   * A close the broker queued itself (lib/ingress-wire.ts `queuedCloseMessage`), as the runtime's
   * SendMessage does on AWS: behind the connection's frames, a held one included.
   */
  queuedClose(message: IngressMessage): void {
    this.swap.release(message.groupId);
    if (this.accepts(message)) this.queue.send(message);
  }

  /** Resolves once no message is waiting or in flight (a held swapped frame is not counted). */
  drained(): Promise<void> {
    return this.queue.drained();
  }

  /** Frames written swapped so far (`swapFraction`). */
  get swaps(): number {
    return this.swap.swaps;
  }

  deadLetters(): readonly DeadLetter[] {
    return this.queue.deadLetters();
  }

  /**
   * Stopping: lets the queue drain (retries no longer wait for their visibility timeout) for at
   * most `graceMs`, lets the batches in hand finish, then stops; logs what was left unhandled.
   * (Local mode's queue lives in memory: whatever is left goes with the process.)
   */
  async stop(graceMs: number): Promise<void> {
    this.swap.releaseAll();
    this.queue.expediteRetries();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue.drained(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.mapping.stop();
    await this.mapping.idle();
    const left = this.queue.depth;
    this.queue.close();
    if (left > 0) this.log.warn('gateway stopped with ingress messages unhandled', { messages: left });
  }

  /** Whether SQS would take the message; a refused one is logged and dropped. */
  private accepts(message: IngressSend): boolean {
    if (SQS_BODY.test(message.body)) return true;
    // SQS refuses it (InvalidMessageContents, or an empty body). The route is one-way: on AWS
    // the client hears nothing, and the integration error is only counted.
    this.log.warn('ingress message refused by the queue: dropped', { connectionId: message.groupId, bodyLength: message.body.length });
    return false;
  }

  private onDeadLetter(message: DeadLetter): void {
    this.log.error('ingress message moved to the dead-letter queue', {
      connectionId: message.send.groupId,
      messageId: message.messageId,
      eventType: message.send.attributes[INGRESS_ATTRIBUTES.eventType],
      receiveCount: message.receiveCount,
    });
  }
}
