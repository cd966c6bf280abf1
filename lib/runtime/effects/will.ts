/**
 * Publishes a Will Message on behalf of its client [MQTT-3.1.2-8]: routed like a PUBLISH from
 * that client, stored as retained if its retain flag is set, without the Will Delay Interval.
 * Wills have no event of their own: they go out through the configured delivery.
 */
import { planDelivery } from '../../broker';
import type { PublishPacket, Will } from '../../mqtt';
import { toRoute } from '../records';
import type { RuntimeDeps } from '../types';
import { fanOut } from './fan-out';

export async function publishWill(deps: RuntimeDeps, will: Will, clientId: string): Promise<void> {
  const now = deps.now();
  const { willDelayInterval: _delay, ...properties } = will.properties ?? {};
  const hasProperties = Object.keys(properties).length > 0;
  const publish: PublishPacket = {
    type: 'publish',
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    dup: false,
    ...(hasProperties ? { properties } : {}),
  };
  if (will.retain) await retainWill(deps, will, hasProperties ? properties : undefined, now);
  const routes = (await deps.subscriptions.routesFor(will.topic)).map(toRoute);
  await fanOut(deps, planDelivery(publish, routes, clientId, { shareSeed: now, now }));
  deps.log.info('will published', { clientId, topic: will.topic, copies: routes.length });
}

/** A retained will replaces the topic's retained message; an empty one deletes it [MQTT-3.3.1-6]. */
async function retainWill(deps: RuntimeDeps, will: Will, properties: PublishPacket['properties'], now: number): Promise<void> {
  if (will.payload.byteLength === 0) {
    await deps.retained.delete(will.topic, now);
    return;
  }
  const expiry = properties?.messageExpiryInterval;
  await deps.retained.put({
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    properties,
    requestTimeEpoch: now,
    receivedAt: now,
    messageExpiresAt: expiry === undefined ? null : now + expiry * 1000,
  });
}
