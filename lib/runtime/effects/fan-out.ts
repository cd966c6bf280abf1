/**
 * Fan-out: every planned copy of a PUBLISH posted, reserved or queued, with bounded concurrency.
 * Each copy carries its subscriber's session and connection (lib/broker/delivery.ts
 * `PlannedCopy`), so fan-out reads nothing more.
 */
import type { PlannedCopy } from '../../broker';
import { encode } from '../../mqtt';
import type { RuntimeDeps } from '../types';
import { drainQueue } from './queue';
import { enqueue, post, prepare, type Outlet } from './send';

/** Concurrent posts of one fan-out. */
const FAN_OUT_CONCURRENCY = 32;

export async function fanOut(deps: RuntimeDeps, copies: readonly PlannedCopy[], outlet?: Outlet): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < copies.length) {
      const copy = copies[next++];
      // One subscriber's failure must not fail the publisher's acknowledgement: its retry would
      // duplicate every other copy. A transient failure gets one more try; a second failure is
      // counted and logged, and the other copies go on.
      try {
        await deliverCopy(deps, copy, outlet);
      } catch (first) {
        deps.log.warn('delivery failed, retrying once', { clientId: copy.clientId, error: first });
        try {
          await deliverCopy(deps, copy, outlet);
        } catch (error) {
          deps.metrics.add('DeliveryErrors');
          deps.log.error('delivery failed', { clientId: copy.clientId, connectionId: copy.connectionId, error });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FAN_OUT_CONCURRENCY, copies.length) }, worker));
}

async function deliverCopy(deps: RuntimeDeps, copy: PlannedCopy, outlet: Outlet | undefined): Promise<void> {
  if (copy.expiresAt !== null && copy.expiresAt <= deps.now()) return;
  if (copy.queue || copy.connectionId === null || copy.mode === undefined) {
    // Offline: QoS 1/2 wait in a persistent session's queue; QoS 0 is not kept (optional in MQTT 5.0 section 4.1).
    if (copy.qos > 0 && copy.persistent) await enqueue(deps, copy, copy.packet, copy.expiresAt);
    return;
  }
  const packet = await prepare(deps, copy, copy.packet, copy.expiresAt, copy.receiveMaximum);
  const connection = { connectionId: copy.connectionId, protocolVersion: copy.protocolVersion, mode: copy.mode, receiveMaximum: copy.receiveMaximum };
  if (packet === undefined) {
    // Queued because the window was full. An ack may have freed a slot between the failed
    // reservation and the enqueue, and found nothing to drain: try once, so the copy cannot wait
    // for an ack that never comes.
    await drainQueue(deps, { clientId: copy.clientId, sessionEpoch: copy.sessionEpoch, persistent: copy.persistent, connection }, 1, outlet);
    return;
  }
  await post(deps, copy.connectionId, copy.mode, encode(packet, copy.protocolVersion), outlet);
}
