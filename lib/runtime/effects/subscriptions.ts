/**
 * SUBSCRIBE and UNSUBSCRIBE: the subscriptions written and deleted, and the retained messages a
 * new subscription receives after its SUBACK [MQTT-3.3.1-9].
 */
import { retainedPublish, type RetainedSendIntent, type SubscriptionsDeleteIntent, type SubscriptionsPutIntent } from '../../broker';
import { encode } from '../../mqtt';
import type { ConnectionRecord } from '../../store/ports';
import { subscriptionRecord } from '../records';
import type { RuntimeDeps } from '../types';
import { drainTargetOf } from './queue';
import { prepare } from './send';

export async function putSubscriptions(deps: RuntimeDeps, intent: SubscriptionsPutIntent, record: ConnectionRecord): Promise<void> {
  const now = deps.now();
  await deps.subscriptions.put(intent.subscriptions.map((s) => subscriptionRecord(record, s, now)));
}

export async function deleteSubscriptions(deps: RuntimeDeps, intent: SubscriptionsDeleteIntent): Promise<void> {
  await deps.subscriptions.delete(intent.clientId, intent.filters);
}

/**
 * Retained messages for a new subscription, as bytes that follow the SUBACK on this connection.
 * QoS 1/2 ones take a packet id and a window slot like any copy (queued when the window is full).
 */
export async function retainedFor(deps: RuntimeDeps, intent: RetainedSendIntent, record: ConnectionRecord): Promise<Uint8Array[]> {
  const now = deps.now();
  const target = drainTargetOf(record);
  const out: Uint8Array[] = [];
  for (const message of await deps.retained.matching(intent.topicFilter, now)) {
    const packet = retainedPublish({ ...message, expiresAt: message.messageExpiresAt }, intent, now);
    if (packet === undefined) continue;
    // Queued (the window is full, or a resume is sending its backlog): an ack or the resume drains it.
    const ready = await prepare(deps, target, record.connectionId, packet, message.messageExpiresAt, record.receiveMaximum);
    if (!('queued' in ready)) out.push(encode(ready, intent.protocolVersion));
  }
  return out;
}
