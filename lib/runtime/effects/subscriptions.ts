/**
 * SUBSCRIBE and UNSUBSCRIBE: the subscriptions written and deleted, and the retained messages a
 * new subscription receives after its SUBACK [MQTT-3.3.1-9].
 *
 * Both write on behalf of the connection's session (its epoch and this connection as owner): a
 * late invocation of a connection that a newer CONNECT superseded is refused by the store, and
 * the connection is closed without an answer, as a CONNECT that lost its takeover race is
 * (issue 13 defect 2). The client never got a SUBACK or UNSUBACK for it on that connection.
 */
import {
  retainedPublish,
  supersededByNewerConnect,
  type Decision,
  type RetainedSendIntent,
  type SubscriptionsDeleteIntent,
  type SubscriptionsPutIntent,
} from '../../broker';
import { encode } from '../../mqtt';
import { SessionTakenOverError } from '../../store/errors';
import type { ConnectionRecord } from '../../store/ports';
import type { SessionWriter } from '../../store/subscription-port';
import { subscriptionRecord } from '../records';
import type { RuntimeDeps } from '../types';
import { drainTargetOf } from './queue';
import { prepare } from './send';

/** The decision to go on with (undefined) or, when the session was superseded, the one replacing it. */
export type Superseded = { readonly replaced: true; readonly decision: Decision } | undefined;

export async function putSubscriptions(
  deps: RuntimeDeps,
  intent: SubscriptionsPutIntent,
  record: ConnectionRecord,
  decision: Decision,
): Promise<Superseded> {
  const now = deps.now();
  const records = intent.subscriptions.map((s) => subscriptionRecord(record, s, now));
  return superseded(deps, record, decision, () => deps.subscriptions.put(records, writerOf(record)));
}

export async function deleteSubscriptions(
  deps: RuntimeDeps,
  intent: SubscriptionsDeleteIntent,
  record: ConnectionRecord,
  decision: Decision,
): Promise<Superseded> {
  return superseded(deps, record, decision, () => deps.subscriptions.delete(intent.clientId, intent.filters, writerOf(record)));
}

function writerOf(record: ConnectionRecord): SessionWriter {
  return { sessionEpoch: record.sessionEpoch ?? '', connectionId: record.connectionId };
}

async function superseded(deps: RuntimeDeps, record: ConnectionRecord, decision: Decision, write: () => Promise<void>): Promise<Superseded> {
  try {
    await write();
    return undefined;
  } catch (error) {
    if (!(error instanceof SessionTakenOverError)) throw error;
    deps.log.info('SUBSCRIBE or UNSUBSCRIBE of a superseded connection refused', { connectionId: record.connectionId, clientId: record.clientId });
    return { replaced: true, decision: supersededByNewerConnect(decision) };
  }
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
