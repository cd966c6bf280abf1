/**
 * CONNECT and DISCONNECT carried out: the session claimed (a takeover closes the previous
 * connection), the connection recorded as MQTT-connected, the will discarded or the session
 * expiry changed. A conditional write that loses a race turns into the reaction the spec asks
 * for, built by the core (lib/broker/settle.ts, lib/broker/reaction.ts).
 */
import {
  decideOnError,
  goneBeforeConnect,
  supersededByNewerConnect,
  withSessionPresent,
  type Decision,
  type MarkConnectedIntent,
  type SessionClaimIntent,
  type SessionSetExpiryIntent,
  type WillDiscardIntent,
} from '../../broker';
import { ClientIdentifierNotValidError, encode, ProtocolViolationError, type ConnectPacket } from '../../mqtt';
import { NotAuthorizedError } from '../../broker/errors';
import {
  AlreadyConnectedError,
  ClientIdInUseError,
  ClientIdOfAnotherPrincipalError,
  ConnectionNotFoundError,
  SessionTakenOverError,
} from '../../store/errors';
import type { MqttConnectionFields } from '../../store/ports';
import { withRetry, type RetryPolicy } from '../../retry';
import { subscriptionTtl } from '../records';
import type { Will } from '../../store/session-port';
import type { RuntimeDeps } from '../types';
import type { EffectContext } from './context';

/** The decision to go on with, or `replaced` when a lost race decided another one. */
export type Settled = { readonly replaced: boolean; readonly decision: Decision };

/**
 * Takes the session for this connection: one conditional write. A previous owner is told
 * (v5 DISCONNECT 0x8E) and closed [MQTT-3.1.4-3]; a newer CONNECT that already owns the session
 * wins, and this connection is closed without CONNACK.
 */
export async function claimSession(deps: RuntimeDeps, intent: SessionClaimIntent, decision: Decision, ctx: EffectContext): Promise<Settled> {
  const mqtt = decision.state.status === 'mqtt' ? decision.state : undefined;
  try {
    const result = await deps.sessions.claim({
      clientId: intent.clientId,
      connectionId: intent.connectionId,
      cleanStart: intent.cleanStart,
      protocolVersion: intent.protocolVersion,
      sessionExpiryInterval: intent.sessionExpiryInterval,
      requestTimeEpoch: intent.requestTimeEpoch,
      will: mqtt?.will ?? undefined,
      principal: mqtt?.principal ?? undefined,
      assignedClientId: intent.clientIdAssigned,
      hint: ctx.sessionHint,
    });
    ctx.claimed = { sessionEpoch: result.sessionEpoch, sessionPresent: result.sessionPresent };
    let pendingWill = result.previousWill;
    const previous = result.previousConnectionId !== undefined && result.previousConnectionId !== ctx.connectionId ? result.previousConnectionId : undefined;
    let handingOver = false;
    try {
      // Gone at the gateway already (asked before the eviction closes it): its last frames, a
      // DISCONNECT perhaps, may still wait in its message group of the ingress queue.
      const closePending = previous !== undefined && pendingWill !== undefined && deps.queueClose !== undefined && (await deps.delivery.info(previous)) === undefined;
      if (previous !== undefined) await evict(deps, previous, ctx.connectionId);
      if (pendingWill !== undefined && closePending) {
        handingOver = true;
        await handOverWill(deps, intent.clientId, previous as string, pendingWill);
      } else if (pendingWill !== undefined) {
        await deps.publishWill(pendingWill, intent.clientId);
      }
      pendingWill = undefined;
      if (!result.sessionPresent) {
        // A new session: whatever an earlier session of this client id left is discarded [MQTT-3.1.2-4].
        await deps.subscriptions.deleteAll(intent.clientId, { before: result.sessionEpoch });
        await deps.messages.deleteAll(intent.clientId, { before: result.sessionEpoch });
      }
    } catch (error) {
      if (handingOver && pendingWill !== undefined) pendingWill = await unlessHeld(deps, intent.clientId, previous as string, pendingWill);
      await abandonClaim(deps, intent.clientId, ctx, pendingWill);
      throw error;
    }
    return { replaced: false, decision: withSessionPresent(decision, result.sessionPresent) };
  } catch (err) {
    if (err instanceof SessionTakenOverError) {
      deps.log.info('CONNECT lost to a newer CONNECT for the same client id', { connectionId: ctx.connectionId, clientId: intent.clientId });
      return { replaced: true, decision: supersededByNewerConnect(decision) };
    }
    if (err instanceof ClientIdInUseError) {
      const error = new ClientIdentifierNotValidError('assigned client id is in use', { cause: err });
      return { replaced: true, decision: decideOnError(error, ctx.state, ctx.connectionId, intent.protocolVersion) };
    }
    if (err instanceof ClientIdOfAnotherPrincipalError) {
      // The claim's condition refused it: the same reaction as the core's own check (docs/SECURITY.md).
      const error = new NotAuthorizedError('Client identifier in use by another principal', { cause: err });
      return { replaced: true, decision: decideOnError(error, ctx.state, ctx.connectionId, intent.protocolVersion) };
    }
    throw err;
  }
}

/**
 * The CONNECT failed after its claim and before CONNACK (issue 13, gap 10): the session goes
 * offline again, resumable by the client's next CONNECT, without the failed CONNECT's will (never
 * accepted), and a previous owner's will not yet published becomes due for the next claim or the
 * sweeper. Best effort: if this fails too, the next CONNECT takes the session over as before.
 */
async function abandonClaim(deps: RuntimeDeps, clientId: string, ctx: EffectContext, pendingWill?: Will): Promise<void> {
  const claimed = ctx.claimed;
  if (claimed === undefined) return;
  ctx.claimed = undefined;
  try {
    const owner = { clientId, connectionId: ctx.connectionId };
    await deps.sessions.abandon({ ...owner, created: !claimed.sessionPresent, ...(pendingWill ? { pendingWill } : {}) });
  } catch (error) {
    deps.log.error('claim of a failed CONNECT not given up', { connectionId: ctx.connectionId, clientId, error });
  }
}

/** Session taken over: v5 DISCONNECT 0x8E to the old connection, then close it [MQTT-3.1.4-3]. */
async function evict(deps: RuntimeDeps, previousConnectionId: string, connectionId: string): Promise<void> {
  const previous = await deps.connections.get(previousConnectionId);
  if (previous?.protocolVersion === 5) {
    await deps.delivery.send(previousConnectionId, encode({ type: 'disconnect', reasonCode: 0x8e }, 5), previous.mode);
  }
  await deps.delivery.close(previousConnectionId);
  deps.log.info('session taken over', { connectionId, previousConnectionId });
}

/**
 * The taken-over connection's will, when that connection is gone with its close still queued:
 * held for it in the session (SessionStore `holdWill`) and left to a close queued behind its
 * frames, so that a DISCONNECT among them discards it [MQTT-3.1.2-10] and a close without one
 * publishes it [MQTT-3.1.2-8] (./../disconnect-path.ts). Published now only when there is no
 * session to hold it in. A failure to queue the close is logged, not fatal: the connection's own
 * `$disconnect` (or the sweeper's queued close) hands the held will out as well.
 */
async function handOverWill(deps: RuntimeDeps, clientId: string, previous: string, will: Will): Promise<void> {
  // Idempotent: a hold whose answer was lost answers 'held' when tried again. Tried in place, as
  // a failure here leaves the will's fate to `unlessHeld`.
  const held = await withRetry(HAND_OVER_RETRY, () => true, () => deps.sessions.holdWill({ clientId, connectionId: previous }, will));
  if (held === 'no-session') {
    await deps.publishWill(will, clientId);
    return;
  }
  if (held === 'discarded') {
    deps.log.info('taken-over connection had sent DISCONNECT: its will is not published', { clientId, connectionId: previous });
    return;
  }
  if (await queueHeldClose(deps, clientId, previous)) {
    deps.log.info('will of a taken-over connection held for its queued close', { clientId, connectionId: previous });
  }
}

/**
 * Queues a close carrying the client id behind the taken-over connection's frames, so that it finds
 * the will held for it even when the connection's record is gone. Best effort: false if it failed
 * (logged; the connection's own `$disconnect` or the sweeper's queued close hands the will out).
 */
async function queueHeldClose(deps: RuntimeDeps, clientId: string, previous: string): Promise<boolean> {
  try {
    await (deps.queueClose as NonNullable<RuntimeDeps['queueClose']>)(previous, 'taken-over', deps.now(), clientId);
    return true;
  } catch (error) {
    deps.log.error('close of a taken-over connection not queued: its will waits for its $disconnect or the sweeper', { clientId, connectionId: previous, error });
    return false;
  }
}

const HAND_OVER_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 };

/**
 * The hand-over failed, and the claim is to be given up with the will it handed out. A hold that
 * was applied with its answer lost put the will in the session for the old connection already:
 * it is then that connection's close's to publish or discard, and made due as well (abandon's
 * `pendingWill`) it would go out twice, or after a DISCONNECT still queued [MQTT-3.1.2-10]. So the
 * will goes to abandon only if no hold is found; a close carrying the client id is queued for the
 * old connection (best effort), in case its record is gone and only such a close would find the
 * held will. A read that keeps failing leaves the will to abandon: published at least once.
 */
async function unlessHeld(deps: RuntimeDeps, clientId: string, previous: string, will: Will): Promise<Will | undefined> {
  const owner = { clientId, connectionId: previous };
  let held: Will | undefined;
  try {
    held = await withRetry(HAND_OVER_RETRY, () => true, () => deps.sessions.heldWill(owner));
  } catch (error) {
    deps.log.error('will hand-over failed and its hold unknown: left to the abandoned claim', { clientId, connectionId: previous, error });
    return will;
  }
  if (held === undefined) return will;
  await queueHeldClose(deps, clientId, previous);
  return undefined;
}

/** Records the connection as MQTT-connected: conditional on it being 'open' [MQTT-3.1.0-2]. */
export async function markConnected(
  deps: RuntimeDeps,
  intent: MarkConnectedIntent,
  decision: Decision,
  ctx: EffectContext,
): Promise<Settled | undefined> {
  const connect = ctx.packet as ConnectPacket;
  try {
    if (ctx.mode !== ctx.record.mode) await deps.connections.setMode(ctx.connectionId, ctx.mode);
    const fields = { ...connectionFields(intent, connect.clean), sessionEpoch: ctx.claimed?.sessionEpoch };
    ctx.record = await deps.connections.markConnected(ctx.connectionId, fields);
    return undefined;
  } catch (err) {
    if (!(err instanceof AlreadyConnectedError)) await abandonClaim(deps, intent.connection.clientId, ctx);
    if (err instanceof AlreadyConnectedError) {
      // Two CONNECTs raced on one connection: the second is a protocol error [MQTT-3.1.0-2].
      // The winner has answered CONNACK, so the reaction is the after-CONNACK one.
      const error = new ProtocolViolationError('second CONNECT on one connection', { specRef: 'MQTT-3.1.0-2', cause: err });
      return { replaced: true, decision: decideOnError(error, decision.state, ctx.connectionId, connect.protocolVersion) };
    }
    if (err instanceof ConnectionNotFoundError) {
      deps.log.info('connection gone before CONNECT was recorded', { connectionId: ctx.connectionId });
      return { replaced: true, decision: goneBeforeConnect(decision) };
    }
    throw err;
  }
}

function connectionFields(intent: MarkConnectedIntent, cleanStart: boolean): MqttConnectionFields {
  const c = intent.connection;
  return {
    clientId: c.clientId,
    protocolVersion: c.protocolVersion,
    keepAlive: c.keepAlive,
    cleanStart,
    username: c.username ?? undefined,
    mqttConnectedAt: intent.connectedAt,
    sessionExpiryInterval: c.sessionExpiryInterval,
    receiveMaximum: c.clientLimits.receiveMaximum,
    maximumPacketSize: c.clientLimits.maximumPacketSize ?? undefined,
    topicAliasMaximum: c.clientLimits.topicAliasMaximum,
    hasWill: c.will !== null,
    principal: c.principal ?? undefined,
    acl: c.acl ?? undefined,
  };
}

/** A normal DISCONNECT: the will is deleted without being published [MQTT-3.14.4-3]. */
export async function discardWill(deps: RuntimeDeps, intent: WillDiscardIntent): Promise<void> {
  await deps.sessions.discardWill({ clientId: intent.clientId, connectionId: intent.connectionId });
}

/**
 * A v5 DISCONNECT changed the Session Expiry Interval (MQTT 5.0 section 3.14.2.2.2). The
 * subscriptions follow (issue 13 defect 4): their TTL moves now, and the release that follows
 * computes their offline TTL from the new interval (`ctx.record`).
 */
export async function setSessionExpiry(deps: RuntimeDeps, intent: SessionSetExpiryIntent, ctx: EffectContext): Promise<void> {
  const outcome = await deps.sessions.setExpiry({
    clientId: intent.clientId,
    connectionId: intent.connectionId,
    sessionExpiryInterval: intent.sessionExpiryInterval,
  });
  if (outcome !== 'updated') return;
  ctx.record = { ...ctx.record, sessionExpiryInterval: intent.sessionExpiryInterval };
  const ttl = subscriptionTtl(deps.now(), ctx.record.expiresAt, intent.sessionExpiryInterval);
  await deps.subscriptions.setExpiry(intent.clientId, ctx.record.sessionEpoch ?? '', ttl);
}
