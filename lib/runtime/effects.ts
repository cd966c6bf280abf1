/**
 * Carries out the intents of one core decision through the store ports. A conditional write that
 * loses a race turns into the reaction the spec asks for, replacing the core's decision: the
 * packets the core wanted to send are then never sent.
 */
import {
  decideOnError,
  type ConnectionState,
  type Decision,
  type Intent,
  type MarkConnectedIntent,
  type RoutingIntent,
  type SessionClaimIntent,
} from '../broker';
import {
  ClientIdentifierNotValidError,
  encode,
  ProtocolViolationError,
  type ConnackPacket,
  type ConnectPacket,
  type Packet,
} from '../mqtt';
import { AlreadyConnectedError, ClientIdInUseError, ConnectionNotFoundError, SessionTakenOverError } from '../store/errors';
import type { ConnectionRecord, MqttConnectionFields } from '../store/ports';
import type { RuntimeDeps } from './handlers';
import type { SubscriptionRecord } from '../store/subscription-port';
import { carryOutPubSub, unknownIntent } from './pubsub';
import type { TransportMode } from '../api-gateway';

export interface EffectContext {
  /** The connection record; replaced by the updated one once a CONNECT is recorded. */
  record: ConnectionRecord;
  readonly mode: TransportMode;
  readonly packet: Packet;
  readonly connectionId: string;
  /** The state the decision was taken from. */
  readonly state: ConnectionState;
  /** Where this connection's `@connections` endpoint is. */
  readonly gateway: { readonly domainName: string; readonly stage: string };
  /** What the CONNECT's session read saw, to pick the claim's first write. */
  readonly sessionHint?: 'absent' | 'present';
  /** Set by a successful session claim. */
  claimed?: { readonly sessionEpoch: string; readonly sessionPresent: boolean };
  /** The subscriptions behind the routes the core was given, by client id (PUBLISH). */
  readonly targets: ReadonlyMap<string, SubscriptionRecord>;
  /** Bytes for this connection that follow the decision's packets. */
  readonly after: Uint8Array[];
}

export async function carryOut(deps: RuntimeDeps, decision: Decision, ctx: EffectContext): Promise<Decision> {
  let current = decision;
  let receipt: number | undefined;
  for (const intent of decision.intents) {
    if (!isConnectIntent(intent)) {
      const pubsub = { record: ctx.record, gateway: ctx.gateway, targets: ctx.targets, after: ctx.after };
      try {
        if ((await carryOutPubSub(deps, intent, pubsub)) === 'skip-rest') return current;
      } catch (error) {
        // A QoS 2 PUBLISH that could not be routed must not stay recorded as received: the
        // client's resend (no PUBREC came) would be taken for a duplicate and the message lost.
        if (receipt !== undefined) await deps.messages.releaseQos2(ctx.record.clientId as string, ctx.record.sessionEpoch ?? '', receipt);
        throw error;
      }
      if (intent.kind === 'qos2.receive') receipt = intent.packetId;
      continue;
    }
    const next = await carryOutOne(deps, intent, current, ctx);
    if (next === undefined) continue;
    if (next.replaced) return next.decision;
    current = next.decision;
  }
  return current;
}

/** The intents of CONNECT and DISCONNECT; every other kind is a RoutingIntent (./pubsub). */
type ConnectIntent = Exclude<Intent, RoutingIntent>;

/** Keyed by kind, so a new connect intent kind is a compile error until it is listed here. */
const CONNECT_INTENT_KINDS: Record<ConnectIntent['kind'], true> = {
  'session.claim': true,
  'connection.markConnected': true,
  'will.discard': true,
  'session.setExpiry': true,
  'will.publish': true,
};

function isConnectIntent(intent: Intent): intent is ConnectIntent {
  return Object.prototype.hasOwnProperty.call(CONNECT_INTENT_KINDS, intent.kind);
}

/** undefined: nothing changes; replaced: the core's decision is dropped for this one. */
type Outcome = { replaced: boolean; decision: Decision } | undefined;

async function carryOutOne(deps: RuntimeDeps, intent: ConnectIntent, decision: Decision, ctx: EffectContext): Promise<Outcome> {
  switch (intent.kind) {
    case 'session.claim':
      return claimSession(deps, intent, decision, ctx);
    case 'connection.markConnected':
      return markConnected(deps, intent, decision, ctx);
    case 'will.discard':
      // A normal DISCONNECT: the will is deleted without being published [MQTT-3.14.4-3].
      await deps.sessions.discardWill({ clientId: intent.clientId, connectionId: intent.connectionId });
      return undefined;
    case 'session.setExpiry':
      await deps.sessions.setExpiry({
        clientId: intent.clientId,
        connectionId: intent.connectionId,
        sessionExpiryInterval: intent.sessionExpiryInterval,
      });
      return undefined;
    case 'will.publish':
      // The connection closes right after this decision, and the disconnect path releases the
      // session: that publishes the will, or defers it by its Will Delay Interval [MQTT-3.1.3-9].
      return undefined;
    default:
      return unknownIntent(intent);
  }
}

/**
 * Takes the session for this connection: one conditional write. A previous owner is told
 * (v5 DISCONNECT 0x8E) and closed [MQTT-3.1.4-3]; a newer CONNECT that already owns the session
 * wins, and this connection is closed without CONNACK.
 */
async function claimSession(deps: RuntimeDeps, intent: SessionClaimIntent, decision: Decision, ctx: EffectContext): Promise<Outcome> {
  const will = decision.state.status === 'mqtt' ? (decision.state.will ?? undefined) : undefined;
  try {
    const result = await deps.sessions.claim({
      clientId: intent.clientId,
      connectionId: intent.connectionId,
      cleanStart: intent.cleanStart,
      protocolVersion: intent.protocolVersion,
      sessionExpiryInterval: intent.sessionExpiryInterval,
      requestTimeEpoch: intent.requestTimeEpoch,
      will,
      principal: decision.state.status === 'mqtt' ? (decision.state.principal ?? undefined) : undefined,
      assignedClientId: intent.clientIdAssigned,
      hint: ctx.sessionHint,
    });
    if (result.previousConnectionId !== undefined && result.previousConnectionId !== ctx.connectionId) {
      await evict(deps, result.previousConnectionId, ctx);
    }
    if (result.previousWill !== undefined) await deps.publishWill(result.previousWill, intent.clientId);
    ctx.claimed = { sessionEpoch: result.sessionEpoch, sessionPresent: result.sessionPresent };
    if (!result.sessionPresent) {
      // A new session: whatever an earlier session of this client id left is discarded [MQTT-3.1.2-4].
      await deps.subscriptions.deleteAll(intent.clientId);
      await deps.messages.deleteAll(intent.clientId);
    }
    return { replaced: false, decision: withSessionPresent(decision, result.sessionPresent, intent.protocolVersion) };
  } catch (err) {
    if (err instanceof SessionTakenOverError) {
      deps.log.info('CONNECT lost to a newer CONNECT for the same client id', { connectionId: ctx.connectionId, clientId: intent.clientId });
      return { replaced: true, decision: closeWithout(decision) };
    }
    if (err instanceof ClientIdInUseError) {
      const error = new ClientIdentifierNotValidError('assigned client id is in use', { cause: err });
      return { replaced: true, decision: decideOnError(error, ctx.state, ctx.connectionId, intent.protocolVersion) };
    }
    throw err;
  }
}

/** Session taken over: v5 DISCONNECT 0x8E to the old connection, then close it [MQTT-3.1.4-3]. */
async function evict(deps: RuntimeDeps, previousConnectionId: string, ctx: EffectContext): Promise<void> {
  const delivery = deps.deliveryFor(ctx.gateway);
  const previous = await deps.connections.get(previousConnectionId);
  if (previous?.protocolVersion === 5) {
    await delivery.send(previousConnectionId, encode({ type: 'disconnect', reasonCode: 0x8e }, 5), previous.mode);
  }
  await delivery.close(previousConnectionId);
  deps.log.info('session taken over', { connectionId: ctx.connectionId, previousConnectionId });
}

/** The store's Session Present is authoritative (a session may have expired or appeared since the read). */
function withSessionPresent(decision: Decision, sessionPresent: boolean, version: number): Decision {
  if (version === 3) return decision; // 3.1 has no Session Present flag
  const send = decision.send.map((p) =>
    p.type === 'connack' && p.reasonCode === 0 && p.sessionPresent !== sessionPresent ? ({ ...p, sessionPresent } as ConnackPacket) : p,
  );
  return { ...decision, send };
}

function closeWithout(decision: Decision): Decision {
  return { ...decision, state: { status: 'open' }, send: [], intents: [], close: { reason: 'server-disconnect', reasonCode: 0x8e } };
}

async function markConnected(deps: RuntimeDeps, intent: MarkConnectedIntent, decision: Decision, ctx: EffectContext): Promise<Outcome> {
  const connect = ctx.packet as ConnectPacket;
  try {
    if (ctx.mode !== ctx.record.mode) await deps.connections.setMode(ctx.connectionId, ctx.mode);
    const fields = { ...connectionFields(intent, connect.clean), sessionEpoch: ctx.claimed?.sessionEpoch };
    ctx.record = await deps.connections.markConnected(ctx.connectionId, fields);
    return undefined;
  } catch (err) {
    if (err instanceof AlreadyConnectedError) {
      // Two CONNECTs raced on one connection: the second is a protocol error [MQTT-3.1.0-2].
      // The winner has answered CONNACK, so the reaction is the after-CONNACK one.
      const error = new ProtocolViolationError('second CONNECT on one connection', { specRef: 'MQTT-3.1.0-2', cause: err });
      return { replaced: true, decision: decideOnError(error, decision.state, ctx.connectionId, connect.protocolVersion) };
    }
    if (err instanceof ConnectionNotFoundError) {
      deps.log.info('connection gone before CONNECT was recorded', { connectionId: ctx.connectionId });
      return { replaced: true, decision: { ...closeWithout(decision), close: { reason: 'server-disconnect', reasonCode: 0 } } };
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
