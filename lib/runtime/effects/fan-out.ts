/**
 * Fan-out: every planned copy of a PUBLISH posted, reserved or queued, with bounded concurrency.
 * Each copy carries its subscriber's session and connection (lib/broker/delivery.ts
 * `PlannedCopy`), so fan-out reads nothing more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlannedCopy } from '../../broker';
import { encode } from '../../mqtt';
import type { RuntimeDeps } from '../types';
import { drainAfterQueued } from './queue';
import { enqueue, post, prepare, type CopyProgress, type Outlet } from './send';

/** Concurrent posts of one fan-out. */
const FAN_OUT_CONCURRENCY = 32;
/**
 * Tries of a copy once posted, the first included, one right after the other: a copy posted with
 * its answer lost is resent with DUP at once, before the client can have ended its flow (a DUP
 * that came after the client's PUBCOMP would be a new message to it).
 */
const COPY_ATTEMPTS = 3;
/**
 * Tries of a copy not yet posted (its reservation, in-flight record or enqueue failed), with
 * backoff between them: until it is stored, nothing would ever resend it, and the publisher has
 * its acknowledgement. 8 tries over at most about 1.6 s: at the chaos run's 2 % store faults per
 * call (about 4 % per try) three tries in a row failed about once in 16,000 copies, once per
 * ten-minute run; eight fail about once in 10^11.
 */
const UNSTORED_ATTEMPTS = 8;
const UNSTORED_BACKOFF_MS = (attempt: number) => Math.min(400, 25 * 2 ** (attempt - 1));

export async function fanOut(deps: RuntimeDeps, copies: readonly PlannedCopy[], outlet?: Outlet): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < copies.length) {
      const copy = copies[next++];
      // One subscriber's failure must not fail the publisher's acknowledgement: its retry would
      // duplicate every other copy. A transient failure is tried again, each time from the step
      // that failed (same packet id and slot, DUP once posted): at once once posted, up to
      // COPY_ATTEMPTS in all; with backoff before, up to UNSTORED_ATTEMPTS. Then it is counted
      // and logged, and the other copies go on. A persistent session's copy in flight stays so
      // for its resume; one neither in flight nor queued is lost, as nothing would resend it.
      const progress: CopyProgress = {};
      for (let attempt = 1; ; attempt++) {
        try {
          await deliverCopy(deps, copy, outlet, progress);
          break;
        } catch (error) {
          if (attempt >= (progress.posted === true ? COPY_ATTEMPTS : UNSTORED_ATTEMPTS)) {
            deps.metrics.add('DeliveryErrors');
            deps.log.error('delivery failed', { clientId: copy.clientId, connectionId: copy.connectionId, error });
            break;
          }
          deps.log.warn('delivery failed, retrying', { clientId: copy.clientId, attempt, error });
          if (progress.posted !== true) await sleep(UNSTORED_BACKOFF_MS(attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FAN_OUT_CONCURRENCY, copies.length) }, worker));
}

async function deliverCopy(deps: RuntimeDeps, copy: PlannedCopy, outlet: Outlet | undefined, progress: CopyProgress): Promise<void> {
  if (copy.expiresAt !== null && copy.expiresAt <= deps.now()) return;
  if (copy.queue || copy.connectionId === null || copy.mode === undefined) {
    // Offline: QoS 1/2 wait in a persistent session's queue; QoS 0 is not kept (optional in MQTT 5.0
    // section 4.1). The route may have been read just before the session came back: then the gate
    // is open to its new connection, and the queue drains there.
    if (copy.qos === 0 || !copy.persistent) return;
    progress.queued ??= { queued: await enqueue(deps, copy, copy.packet, copy.expiresAt, progress) };
    await drainAfterQueued(deps, copy, progress.queued.queued, undefined, outlet);
    return;
  }
  const connection = { connectionId: copy.connectionId, protocolVersion: copy.protocolVersion, mode: copy.mode, receiveMaximum: copy.receiveMaximum };
  const prepared = await prepare(deps, copy, copy.connectionId, copy.packet, copy.expiresAt, copy.receiveMaximum, progress);
  if ('queued' in prepared) {
    // Queued: the window was full, older copies wait, or the gate did not let it through. An ack
    // may have freed a slot between the failed reservation and the enqueue, and found nothing to
    // drain: one drain, so the copy cannot wait for an ack that never comes.
    await drainAfterQueued(deps, copy, prepared.queued, connection, outlet);
    return;
  }
  progress.posted = true;
  await post(deps, copy.connectionId, copy.mode, encode(prepared, copy.protocolVersion), outlet);
}
