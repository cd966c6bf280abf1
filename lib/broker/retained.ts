/**
 * Retained messages sent to a new subscription (MQTT 5.0 section 3.3.1.3): the PUBLISH built from
 * the stored message for a `retained.send` intent. Pure, like the delivery planner it builds on.
 */

import type { PublishPacket, QoS } from '../mqtt/types';
import { outgoingPublish, remainingExpiry } from './delivery';
import type { RetainedMessage, RetainedSendIntent } from './intents';

/**
 * The PUBLISH that sends a retained message for a `retained.send` intent, or undefined when it
 * has expired [MQTT-3.3.2-5]. RETAIN is 1 for messages sent because of a new subscription
 * (MQTT 5.0 3.3.1.3); QoS min(message, granted) [MQTT-3.8.4-8]; v5: the subscription's
 * identifier [MQTT-3.3.4-3] and the remaining expiry [MQTT-3.3.2-6]. No packet id: the runtime
 * allocates it.
 */
export function retainedPublish(message: RetainedMessage, request: RetainedSendIntent, now: number): PublishPacket | undefined {
  const remaining = remainingExpiry(message.properties?.messageExpiryInterval, message.receivedAt, now);
  if (remaining === 'expired') return undefined;
  if (message.expiresAt !== null && message.expiresAt <= now) return undefined;
  const qos = Math.min(message.qos, request.qos) as QoS;
  const ids = request.subscriptionIdentifier === undefined ? [] : [request.subscriptionIdentifier];
  return outgoingPublish(message, request.protocolVersion, qos, true, ids, remaining);
}
