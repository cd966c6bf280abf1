/**
 * An inbound PUBLISH carried out: the QoS 2 receipt that makes it exactly once, the retained
 * message, the fan-out, and the count of what the access rules refused.
 */
import type {
  PublishDeniedIntent,
  PublishDeliverIntent,
  Qos2ReceiveIntent,
  Qos2ReleaseIntent,
  RetainedDeleteIntent,
  RetainedPutIntent,
} from '../../broker';
import { connectionOrder } from '../../store/message-port';
import type { ConnectionRecord } from '../../store/ports';
import type { RuntimeDeps } from '../types';
import { fanOut } from './fan-out';
import type { Outlet } from './send';

/**
 * Records a QoS 2 PUBLISH as received until its PUBREL. 'duplicate': a copy of this PUBLISH was
 * recorded already, so nothing more is routed; the PUBREC goes out either way [MQTT-4.3.3-10].
 * `token` names the write, so that a failed handling can undo it (MessageStore `forgetQos2`).
 */
export async function receiveQos2(deps: RuntimeDeps, intent: Qos2ReceiveIntent, record: ConnectionRecord, token?: string): Promise<'new' | 'duplicate'> {
  return deps.messages.receiveQos2(intent.clientId, record.sessionEpoch ?? '', intent.packetId, orderOf(record), token);
}

/**
 * PUBREL: a later PUBLISH with this packet id is new [MQTT-4.3.3-12], on this connection or a
 * newer one; a late PUBLISH of an older connection of the session stays a duplicate.
 */
export async function releaseQos2(deps: RuntimeDeps, intent: Qos2ReleaseIntent, record: ConnectionRecord): Promise<void> {
  await deps.messages.releaseQos2(intent.clientId, record.sessionEpoch ?? '', intent.packetId, orderOf(record));
}

/** The connection's place among the session's connections: its CONNECT time, then its id. */
function orderOf(record: ConnectionRecord): string {
  return connectionOrder(record.mqttConnectedAt ?? record.connectedAt, record.connectionId);
}

export async function putRetained(deps: RuntimeDeps, { message }: RetainedPutIntent): Promise<void> {
  await deps.retained.put({
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    properties: message.properties,
    requestTimeEpoch: message.requestTimeEpoch,
    receivedAt: message.receivedAt,
    messageExpiresAt: message.expiresAt,
  });
}

export async function deleteRetained(deps: RuntimeDeps, intent: RetainedDeleteIntent): Promise<void> {
  await deps.retained.delete(intent.topic, intent.requestTimeEpoch);
}

export async function deliver(deps: RuntimeDeps, intent: PublishDeliverIntent, outlet: Outlet): Promise<void> {
  await fanOut(deps, intent.copies, outlet);
}

/** A PUBLISH the rules refused: counted, as 3.1.1 clients are told nothing. */
export function countDenied(deps: RuntimeDeps, intent: PublishDeniedIntent): void {
  deps.metrics.add('PublishDenied');
  deps.log.debug('publish denied by the access rules', { clientId: intent.clientId, topic: intent.topic });
}
