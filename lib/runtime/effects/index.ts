/**
 * Carries out the intents of one core decision, in order, each by the module of its job:
 * session.ts (CONNECT, DISCONNECT), subscriptions.ts (SUBSCRIBE, UNSUBSCRIBE), publish.ts and
 * fan-out.ts (PUBLISH), queue.ts (acknowledgements). A lost race may replace the core's decision
 * with the reaction the spec asks for: the packets the core wanted to send are then never sent.
 */
import type { Decision, Intent } from '../../broker';
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
  let receipt: number | undefined;
  for (const intent of decision.intents) {
    let outcome: Outcome;
    try {
      outcome = await carryOutOne(deps, intent, current, ctx, outlet);
    } catch (error) {
      // A QoS 2 PUBLISH that could not be routed must not stay recorded as received: the
      // client's resend (no PUBREC came) would be taken for a duplicate and the message lost.
      if (receipt !== undefined) await deps.messages.releaseQos2(ctx.record.clientId as string, ctx.record.sessionEpoch ?? '', receipt);
      throw error;
    }
    if (outcome === 'skip-rest') return current;
    if (intent.kind === 'qos2.receive') receipt = intent.packetId;
    if (outcome === undefined) continue;
    if (outcome.replaced) return outcome.decision;
    current = outcome.decision;
  }
  return current;
}

/** undefined: go on; Settled: the decision to go on with (or replaced); 'skip-rest': a QoS 2 duplicate. */
type Outcome = Settled | 'skip-rest' | undefined;

async function carryOutOne(deps: RuntimeDeps, intent: Intent, decision: Decision, ctx: EffectContext, outlet: Outlet): Promise<Outcome> {
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
      return (await receiveQos2(deps, intent, ctx.record)) === 'duplicate' ? 'skip-rest' : undefined;
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
