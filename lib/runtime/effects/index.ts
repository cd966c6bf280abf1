/**
 * Carries out the intents of one core decision, in order, each by the module of its job:
 * session.ts (CONNECT, DISCONNECT), subscriptions.ts (SUBSCRIBE, UNSUBSCRIBE), publish.ts and
 * fan-out.ts (PUBLISH), queue.ts (acknowledgements). A lost race may replace the core's decision
 * with the reaction the spec asks for: the packets the core wanted to send are then never sent.
 */
import { randomUUID } from 'node:crypto';
import type { Decision, Intent } from '../../broker';
import { withRetry, type RetryPolicy } from '../../retry';
import type { RuntimeDeps } from '../types';
import type { EffectContext } from './context';
import { countDenied, deleteRetained, deliver, putRetained, receiveQos2, releaseQos2 } from './publish';
import { acknowledge } from './queue';
import type { Outlet } from './send';
import { claimSession, discardWill, markConnected, setSessionExpiry, type Settled } from './session';
import { deleteSubscriptions, putSubscriptions, retainedFor } from './subscriptions';

export type { EffectContext } from './context';

export async function carryOut(deps: RuntimeDeps, decision: Decision, ctx: EffectContext): Promise<Decision> {
  let current = decision;
  const outlet = { connectionId: ctx.connectionId, push: (bytes: Uint8Array) => ctx.after.push(bytes) };
  let receipt: Receipt | undefined;
  for (const intent of decision.intents) {
    let outcome: Outcome;
    if (intent.kind === 'qos2.receive') receipt = { packetId: intent.packetId, token: randomUUID() };
    try {
      outcome = await carryOutOne(deps, intent, current, ctx, outlet, receipt?.token);
    } catch (error) {
      // A QoS 2 PUBLISH that could not be routed must not stay recorded as received: the
      // client's resend, or the frame's retry (no PUBREC went), would be taken for a duplicate
      // and the message lost [MQTT-4.3.3-10]. That includes a receipt write that failed after it
      // was applied (its answer lost): the receipt is undone by its token, never another's.
      if (receipt !== undefined) await forgetReceipt(deps, ctx, receipt);
      throw error;
    }
    if (outcome === 'skip-rest') return current;
    if (outcome === undefined) continue;
    if (outcome.replaced) return outcome.decision;
    current = outcome.decision;
  }
  return current;
}

/** undefined: go on; Settled: the decision to go on with (or replaced); 'skip-rest': a QoS 2 duplicate. */
type Outcome = Settled | 'skip-rest' | undefined;

/** The QoS 2 receipt this decision writes: its packet id and the token that names the write. */
interface Receipt {
  readonly packetId: number;
  readonly token: string;
}

/** The undo is what keeps the message from being lost: a few tries, then a loud error. */
const FORGET_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 };

async function forgetReceipt(deps: RuntimeDeps, ctx: EffectContext, receipt: Receipt): Promise<void> {
  const clientId = ctx.record.clientId as string;
  try {
    await withRetry(FORGET_RETRY, () => true, () => deps.messages.forgetQos2(clientId, ctx.record.sessionEpoch ?? '', receipt.packetId, receipt.token));
  } catch (error) {
    deps.metrics.add('DeliveryErrors');
    deps.log.error('QoS 2 receipt of an unrouted PUBLISH not undone: its resend will be taken for a duplicate', { clientId, packetId: receipt.packetId, error });
  }
}

async function carryOutOne(deps: RuntimeDeps, intent: Intent, decision: Decision, ctx: EffectContext, outlet: Outlet, receiptToken?: string): Promise<Outcome> {
  switch (intent.kind) {
    case 'session.claim':
      return claimSession(deps, intent, decision, ctx);
    case 'connection.markConnected':
      return markConnected(deps, intent, decision, ctx);
    case 'will.discard':
      return void (await discardWill(deps, intent));
    case 'session.setExpiry':
      return void (await setSessionExpiry(deps, intent, ctx));
    case 'will.publish':
      // The connection closes right after this decision, and the disconnect path releases the
      // session: that publishes the will, or defers it by its Will Delay Interval [MQTT-3.1.3-9].
      return undefined;
    case 'subscriptions.put':
      return putSubscriptions(deps, intent, ctx.record, decision);
    case 'subscriptions.delete':
      return deleteSubscriptions(deps, intent, ctx.record, decision);
    case 'retained.send':
      ctx.after.push(...(await retainedFor(deps, intent, ctx.record)));
      return undefined;
    case 'qos2.receive':
      // Exactly once: a copy of this PUBLISH already recorded means no second delivery [MQTT-4.3.3-10].
      return (await receiveQos2(deps, intent, ctx.record, receiptToken)) === 'duplicate' ? 'skip-rest' : undefined;
    case 'qos2.release':
      return void (await releaseQos2(deps, intent, ctx.record));
    case 'retained.put':
      return void (await putRetained(deps, intent));
    case 'retained.delete':
      return void (await deleteRetained(deps, intent));
    case 'publish.deliver':
      return void (await deliver(deps, intent, outlet));
    case 'publish.denied':
      return void countDenied(deps, intent);
    case 'inflight.ack':
    case 'inflight.complete':
    case 'inflight.released':
      return void (await acknowledge(deps, intent, ctx.record, outlet));
    default:
      return unknownIntent(intent);
  }
}

/** A compile error when an intent kind is not handled; at run time (a newer core) it fails loudly. */
function unknownIntent(intent: never): never {
  throw new Error(`intent kind not carried out: ${(intent as { kind: string }).kind}`);
}
