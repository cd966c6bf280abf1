/**
 * Carries out the intents of one core decision through the store ports. A conditional write that
 * loses a race turns into the reaction the spec asks for, replacing the core's decision: the
 * packets the core wanted to send are then never sent.
 */
import { decideOnError, type Decision, type Intent, type MarkConnectedIntent } from '../broker';
import { ProtocolViolationError, type ConnectPacket, type Packet } from '../mqtt';
import { AlreadyConnectedError, ConnectionNotFoundError } from '../store/errors';
import type { ConnectionRecord, MqttConnectionFields, TransportMode } from '../store/ports';
import type { ConnectionState } from '../broker';
import type { RuntimeDeps } from './handlers';

export interface EffectContext {
  readonly record: ConnectionRecord;
  readonly mode: TransportMode;
  readonly packet: Packet;
  readonly connectionId: string;
  /** The state the decision was taken from. */
  readonly state: ConnectionState;
}

export async function carryOut(deps: RuntimeDeps, decision: Decision, ctx: EffectContext): Promise<Decision> {
  for (const intent of decision.intents) {
    const replaced = await carryOutOne(deps, intent, decision, ctx);
    if (replaced !== undefined) return replaced;
  }
  return decision;
}

async function carryOutOne(deps: RuntimeDeps, intent: Intent, decision: Decision, ctx: EffectContext): Promise<Decision | undefined> {
  switch (intent.kind) {
    case 'connection.markConnected':
      return markConnected(deps, intent, decision, ctx);
    case 'session.claim':
    case 'session.setExpiry':
    case 'will.publish':
    case 'will.discard':
      // Sessions and wills are stored by "Broker core I"; this slice keeps clean sessions only.
      deps.log.debug('intent not carried out yet', { connectionId: ctx.connectionId, intent: intent.kind });
      return undefined;
  }
}

async function markConnected(
  deps: RuntimeDeps,
  intent: MarkConnectedIntent,
  decision: Decision,
  ctx: EffectContext,
): Promise<Decision | undefined> {
  const connect = ctx.packet as ConnectPacket;
  try {
    if (ctx.mode !== ctx.record.mode) await deps.connections.setMode(ctx.connectionId, ctx.mode);
    await deps.connections.markConnected(ctx.connectionId, connectionFields(intent, connect.clean));
    return undefined;
  } catch (err) {
    if (err instanceof AlreadyConnectedError) {
      // Two CONNECTs raced on one connection: the second is a protocol error [MQTT-3.1.0-2].
      // The winner has answered CONNACK, so the reaction is the after-CONNACK one.
      const error = new ProtocolViolationError('second CONNECT on one connection', { specRef: 'MQTT-3.1.0-2', cause: err });
      return decideOnError(error, decision.state, ctx.connectionId, connect.protocolVersion);
    }
    if (err instanceof ConnectionNotFoundError) {
      deps.log.info('connection gone before CONNECT was recorded', { connectionId: ctx.connectionId });
      return { kind: 'decision', state: ctx.state, protocolVersion: connect.protocolVersion, send: [], intents: [], close: { reason: 'server-disconnect', reasonCode: 0 } };
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
  };
}
