/**
 * Fault injection for deliveries: a `@connections` client that fails posts the way API Gateway
 * and the SDK do, chosen by rules or at a seeded random rate. It sits under the real delivery
 * adapter (LocalBrokerOptions.wrapManagementClient), so the adapter's own reactions run as on AWS:
 * its 429 retries, `onGone` (the disconnect path of the connection that is gone), its typed
 * errors, and the order of a packet's fragments.
 *
 *   const posts = new FaultyDelivery();
 *   const broker = await startTestBroker({ wrapManagementClient: (c) => posts.wrap(c) });
 *   posts.inject({ kind: 'throttle', times: 3 });
 *
 * Kinds, on a PostToConnection:
 * - 'gone': the connection is deleted first (DELETE through the real client: it died just before
 *   the post), then the post goes and meets API Gateway's own 410 GoneException;
 * - 'throttle': LimitExceededException (429), on this post and on the next `burst - 1` posts to
 *   the same connection (the adapter retries 3 times: a burst of 3 exhausts it);
 * - 'timeout-after': the post is applied, then a TimeoutError (the response was lost);
 * - 'timeout-before': a TimeoutError, nothing posted;
 * - 'partial': only on a fragment after the first of a packet too big for one post
 *   (lib/gateway/framing.ts): the earlier fragments reached the client, this one fails with a
 *   TimeoutError, nothing posted.
 */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ManagementClient } from '../../lib/gateway/delivery';
import { splitTag } from '../../lib/client/fragment-tag';
import { Prng } from '../fuzz/prng';
import { timeoutError } from './faulty-dynamodb';

export type PostFaultKind = 'gone' | 'throttle' | 'timeout-after' | 'timeout-before' | 'partial';

export const POST_FAULT_KINDS: readonly PostFaultKind[] = ['gone', 'throttle', 'timeout-after', 'timeout-before', 'partial'];

export interface Post {
  readonly connectionId: string;
  /** The posted message: base64 text (maybe tagged) or bytes (lenient binary mode). */
  readonly data: string | Uint8Array;
  /** Set when the message is one fragment of a packet. */
  readonly fragment?: { readonly index: number; readonly count: number };
}

export interface PostFaultRule {
  readonly kind: PostFaultKind;
  readonly connectionId?: string;
  readonly where?: (post: Post) => boolean;
  /** Fire on the nth matching post (1-based). @default 1 */
  readonly nth?: number;
  /** How many matching posts it fires on, from the nth. @default 1 */
  readonly times?: number;
  /** 'throttle': posts to the connection refused in a row. @default 1 */
  readonly burst?: number;
}

export interface RandomPostFaults {
  readonly seed: number;
  /** Probability per post of each kind ('partial' is drawn on later fragments only). */
  readonly rates: Partial<Record<PostFaultKind, number>>;
  /** 'throttle': the burst is drawn in [1, maxBurst]. @default 4 */
  readonly maxBurst?: number;
}

interface ArmedRule {
  readonly rule: PostFaultRule;
  seen: number;
  fired: number;
}

/** The SDK's exception for a 4xx of API Gateway, as its deserializer builds it. */
export function serviceException(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status, requestId: 'injected', attempts: 1, totalRetryDelay: 0 },
  });
}

export class FaultyDelivery {
  /** Every fault fired so far, in order. */
  readonly injected: { readonly kind: PostFaultKind; readonly connectionId: string }[] = [];
  /** Posts seen so far. */
  posts = 0;
  private rules: ArmedRule[] = [];
  private random: { readonly options: RandomPostFaults; readonly prng: Prng } | undefined;
  /** Throttle bursts under way: posts still to refuse, per connection. */
  private readonly bursts = new Map<string, number>();

  /** The client to give the delivery adapter. */
  wrap(real: ManagementClient): ManagementClient {
    return { send: ((command: unknown) => this.send(real, command)) as ManagementClient['send'] };
  }

  inject(rule: PostFaultRule): this {
    this.rules.push({ rule, seen: 0, fired: 0 });
    return this;
  }

  randomly(options: RandomPostFaults | undefined): this {
    this.random = options === undefined ? undefined : { options, prng: new Prng(options.seed) };
    return this;
  }

  /** Disarms the rules, the random mode and the bursts under way. */
  clear(): void {
    this.rules = [];
    this.random = undefined;
    this.bursts.clear();
  }

  counts(): Record<PostFaultKind, number> {
    const counts = Object.fromEntries(POST_FAULT_KINDS.map((k) => [k, 0])) as Record<PostFaultKind, number>;
    for (const { kind } of this.injected) counts[kind] += 1;
    return counts;
  }

  private async send(real: ManagementClient, command: unknown): Promise<unknown> {
    const forward = () => real.send(command as never);
    if (!(command instanceof PostToConnectionCommand)) return forward();
    this.posts += 1;
    const connectionId = command.input.ConnectionId as string;
    const post = toPost(connectionId, command.input.Data as string | Uint8Array);
    const burst = this.bursts.get(connectionId);
    if (burst !== undefined) {
      if (burst <= 1) this.bursts.delete(connectionId);
      else this.bursts.set(connectionId, burst - 1);
      throw serviceException('LimitExceededException', 429, 'Rate exceeded');
    }
    const fired = this.fire(post);
    if (fired === undefined) return forward();
    const { kind, burst: length } = fired;
    this.injected.push({ kind, connectionId });
    switch (kind) {
      case 'gone':
        await real.send(new DeleteConnectionCommand({ ConnectionId: connectionId }) as never).catch(() => undefined);
        return forward();
      case 'throttle':
        if (length > 1) this.bursts.set(connectionId, length - 1);
        throw serviceException('LimitExceededException', 429, 'Rate exceeded');
      case 'timeout-after':
        await forward();
        throw timeoutError('PostToConnection applied, response lost');
      case 'timeout-before':
      case 'partial':
        throw timeoutError('PostToConnection not sent');
    }
  }

  private fire(post: Post): { kind: PostFaultKind; burst: number } | undefined {
    for (const armed of this.rules) {
      const { rule } = armed;
      if (rule.connectionId !== undefined && rule.connectionId !== post.connectionId) continue;
      if (rule.kind === 'partial' && !isLaterFragment(post)) continue;
      if (rule.where !== undefined && !rule.where(post)) continue;
      armed.seen += 1;
      if (armed.seen < (rule.nth ?? 1) || armed.fired >= (rule.times ?? 1)) continue;
      armed.fired += 1;
      return { kind: rule.kind, burst: rule.burst ?? 1 };
    }
    return this.draw(post);
  }

  private draw(post: Post): { kind: PostFaultKind; burst: number } | undefined {
    if (this.random === undefined) return undefined;
    const { options, prng } = this.random;
    let x = prng.next() / 0x1_0000_0000;
    for (const kind of POST_FAULT_KINDS) {
      const rate = options.rates[kind] ?? 0;
      if (kind === 'partial' && !isLaterFragment(post)) continue;
      if (x < rate) return { kind, burst: kind === 'throttle' ? prng.between(1, options.maxBurst ?? 4) : 1 };
      x -= rate;
    }
    return undefined;
  }
}

function toPost(connectionId: string, data: string | Uint8Array): Post {
  if (typeof data !== 'string') return { connectionId, data };
  const split = splitTag(data);
  const tag = split?.tag;
  return tag === undefined ? { connectionId, data } : { connectionId, data, fragment: { index: tag.index, count: tag.count } };
}

function isLaterFragment(post: Post): boolean {
  return post.fragment !== undefined && post.fragment.index > 0;
}
