/**
 * The handler fuzzer's runtime: the memory runtime of test/helpers/memory-runtime.ts (the real
 * route handlers on the in-memory stores and delivery), plus what the oracle needs to see:
 * - a witness client subscribed to `will/#`, so a will published at a close is seen;
 * - every post taken once per message and then dropped, so a long run holds no history;
 * - any post attempted on a connection the server had closed, while that connection's own
 *   message was being handled [MQTT-3.14.4-1].
 */
import { createDecoder, decode, type Packet } from '../../lib/mqtt';
import { memoryRuntime, type MemoryRuntime, type TestConnection } from '../helpers/memory-runtime';
import { concat } from './mutations';

export class FuzzRuntime {
  /** `will/{clientId}|{payload}` of each will the witness received. */
  readonly wills = new Set<string>();
  /** Connections that were posted to after the server closed them, during their own message. */
  readonly lateSends: string[] = [];
  private readonly closedByServer = new Set<string>();
  private handling: string | undefined;

  private constructor(
    readonly runtime: MemoryRuntime,
    private witness: TestConnection | undefined = undefined,
  ) {
    const delivery = runtime.delivery;
    const send = delivery.send.bind(delivery);
    const close = delivery.close.bind(delivery);
    delivery.send = (connectionId, bytes, mode) => {
      if (connectionId === this.handling && this.closedByServer.has(connectionId)) this.lateSends.push(connectionId);
      return send(connectionId, bytes, mode);
    };
    delivery.close = (connectionId) => {
      if (delivery.isOpen(connectionId)) this.closedByServer.add(connectionId);
      return close(connectionId);
    };
  }

  static async create(): Promise<FuzzRuntime> {
    const fuzz = new FuzzRuntime(memoryRuntime());
    const witness = await fuzz.runtime.connected(4, { clientId: 'fz-witness' });
    await witness.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'will/#', qos: 0 }] });
    fuzz.witness = witness;
    fuzz.takePosts('');
    return fuzz;
  }

  /** Handles one message of `connection` with the lateness watch on. */
  async handle<T>(connectionId: string, run: () => Promise<T>): Promise<T> {
    this.handling = connectionId;
    try {
      return await run();
    } finally {
      this.handling = undefined;
    }
  }

  /** Whether the server closed the connection (a `@connections` DELETE). */
  closed(connectionId: string): boolean {
    return this.closedByServer.has(connectionId);
  }

  /** The bytes posted to `connectionId` since the last call; the witness's wills are noted; the rest is dropped. */
  takePosts(connectionId: string): Uint8Array {
    const posts = this.runtime.delivery.posts.splice(0);
    this.runtime.metrics.splice(0);
    this.runtime.delivery.closed.splice(0);
    const mine: Uint8Array[] = [];
    for (const post of posts) {
      const bytes = typeof post.message === 'string' ? new Uint8Array(Buffer.from(post.message, 'base64')) : post.message;
      if (post.connectionId === connectionId) mine.push(bytes);
      else if (post.connectionId === this.witness?.id) this.noteWills(bytes);
    }
    return concat(mine);
  }

  /** Forgets a finished connection. */
  forget(connectionId: string): void {
    this.closedByServer.delete(connectionId);
  }

  private noteWills(bytes: Uint8Array): void {
    const { packets } = decode(createDecoder({ protocolVersion: 4 }), bytes);
    for (const packet of packets as Packet[]) {
      if (packet.type === 'publish') this.wills.add(`${packet.topic}|${new TextDecoder().decode(packet.payload)}`);
    }
  }
}
