/**
 * CONNECT, as a pipeline of small named steps:
 *   first CONNECT? -> protocol -> client limits -> client id -> will -> authenticate -> access
 *   rules (compiled; the will topic must be allowed)
 *   -> session (clean start vs resume) -> keep alive -> CONNACK + intents.
 * Each step either returns what it established or throws a typed error; the dispatcher maps
 * errors to CONNACK / DISCONNECT / close through `reaction.ts`.
 */

import { ProtocolViolationError, UnsupportedProtocolVersionError, ClientIdentifierNotValidError } from '../mqtt/errors';
import { validateTopicName } from '../mqtt/topic';
import type { ConnectPacket, Will } from '../mqtt/types';
import { canPublish, compileAcl } from '../auth/acl';
import type { ConnectionAcl } from '../auth/types';
import type { BrokerConfig } from './config';
import { buildConnack, type ClientIdentity, type KeepAliveDecision, type SessionDecision } from './connack';
import { reply, type Decision, type Intent } from './decisions';
import {
  BadAuthenticationMethodError,
  BadUserNameOrPasswordError,
  MissingBrokerInputError,
  NotAuthorizedError,
  ProtocolStateError,
  QoSNotSupportedError,
  RetainNotSupportedError,
} from './errors';
import type {
  AuthVerdict,
  BrokerContext,
  ClientLimits,
  ConnectInputs,
  ConnectionParams,
  ConnectionState,
  MqttConnectionState,
  SessionSummary,
} from './state';

/** MQTT 3.1 (MQIsdp) client ids are 1 to 23 characters (3.1 section 3.1, Client Identifier). */
const MQISDP_MAX_CLIENT_ID_LENGTH = 23;

export function handleConnect(packet: ConnectPacket, state: ConnectionState, ctx: BrokerContext): Decision {
  requireFirstConnect(state);
  checkProtocol(packet);
  const inputs = requireConnectInputs(ctx);
  const clientLimits = readClientLimits(packet);
  const identity = resolveClientId(packet, ctx);
  checkWill(packet.will, ctx.config);
  const principal = authenticate(packet, inputs.auth, ctx.config);
  const acl = compileAccess(inputs.auth, principal, identity.clientId);
  checkWillAllowed(packet.will, acl);
  checkSessionOwner(identity, inputs.existingSession, principal, ctx.now);
  const session = decideSession(packet, identity, inputs.existingSession, ctx);
  const keepAlive = decideKeepAlive(packet, ctx.config);

  const params: ConnectionParams = {
    protocolVersion: packet.protocolVersion,
    clientId: identity.clientId,
    clientIdAssigned: identity.assigned,
    keepAlive: keepAlive.keepAlive,
    sessionExpiryInterval: session.sessionExpiryInterval,
    will: packet.will ?? null,
    username: packet.username ?? null,
    principal,
    clientLimits,
    acl,
  };
  const next: MqttConnectionState = { status: 'mqtt', ...params };
  const connack = buildConnack(packet.protocolVersion, ctx.config, identity, session, keepAlive);
  return reply(next, packet.protocolVersion, [connack], connectIntents(packet, params, session, ctx));
}

/** A second CONNECT on one connection is a Protocol Error [MQTT-3.1.0-2]. */
function requireFirstConnect(state: ConnectionState): void {
  if (state.status !== 'open') {
    throw new ProtocolStateError('Second CONNECT on this connection', { specRef: 'MQTT-3.1.0-2' });
  }
}

/** 'MQIsdp' goes with level 3, 'MQTT' with 4 and 5; anything else is refused [MQTT-3.1.2-2]. */
function checkProtocol(packet: ConnectPacket): void {
  const { protocolName: name, protocolVersion: level } = packet;
  const supported = name === 'MQIsdp' ? level === 3 : name === 'MQTT' && (level === 4 || level === 5);
  if (!supported) {
    const specRef = name === 'MQTT' || name === 'MQIsdp' ? 'MQTT-3.1.2-2' : 'MQTT-3.1.2-1';
    throw new UnsupportedProtocolVersionError('Unsupported protocol name or level', { specRef });
  }
}

function requireConnectInputs(ctx: BrokerContext): ConnectInputs {
  if (ctx.connect === undefined) {
    throw new MissingBrokerInputError('ctx.connect (auth verdict, existing session) is required for CONNECT');
  }
  return ctx.connect;
}

/** The client's own limits from v5 CONNECT properties; spec defaults when absent. */
function readClientLimits(packet: ConnectPacket): ClientLimits {
  const props = packet.protocolVersion === 5 ? packet.properties : undefined;
  // A Receive Maximum or Maximum Packet Size of 0 is a Protocol Error (MQTT 5.0 3.1.2.11.3/4).
  if (props?.receiveMaximum === 0) {
    throw new ProtocolViolationError('Receive Maximum of 0 in CONNECT');
  }
  if (props?.maximumPacketSize === 0) {
    throw new ProtocolViolationError('Maximum Packet Size of 0 in CONNECT');
  }
  return {
    receiveMaximum: props?.receiveMaximum ?? 0xffff,
    maximumPacketSize: props?.maximumPacketSize ?? null,
    topicAliasMaximum: props?.topicAliasMaximum ?? 0,
  };
}

/** Validates the client id, or assigns one to an empty id. */
function resolveClientId(packet: ConnectPacket, ctx: BrokerContext): ClientIdentity {
  const { clientId, protocolVersion: version } = packet;
  if (clientId.length === 0) return assignClientId(packet, ctx);
  const max = version === 3 ? MQISDP_MAX_CLIENT_ID_LENGTH : ctx.config.maximumClientIdLength;
  if (codePointLength(clientId) > max) {
    const specRef = version === 5 ? 'MQTT-3.1.3-8' : version === 4 ? 'MQTT-3.1.3-9' : undefined;
    throw new ClientIdentifierNotValidError('Client id too long', { specRef });
  }
  return { clientId, assigned: false };
}

/**
 * An empty client id: refused in 3.1; in 3.1.1 only allowed with Clean Session 1
 * (3.1.1: [MQTT-3.1.3-7] [MQTT-3.1.3-8]); in 5.0 allowed with either Clean Start. The assigned id is derived from the
 * connection id (or ctx.assignClientId), the core having no randomness [MQTT-3.1.3-6].
 */
function assignClientId(packet: ConnectPacket, ctx: BrokerContext): ClientIdentity {
  const version = packet.protocolVersion;
  if (version === 3) {
    throw new ClientIdentifierNotValidError('Empty client id in MQTT 3.1');
  }
  if (version === 4 && !packet.clean) {
    throw new ClientIdentifierNotValidError('Empty client id with Clean Session 0', { specRef: 'MQTT-3.1.3-8' });
  }
  if (!ctx.config.allowEmptyClientId) {
    const specRef = version === 5 ? 'MQTT-3.1.3-8' : 'MQTT-3.1.3-9';
    throw new ClientIdentifierNotValidError('Empty client id not allowed', { specRef });
  }
  const clientId = ctx.assignClientId?.() ?? `${ctx.config.assignedClientIdPrefix}${ctx.connectionId}`;
  return { clientId, assigned: true };
}

/** The will topic is a valid topic name; its QoS and RETAIN are within the server's capabilities. */
function checkWill(will: Will | undefined, config: BrokerConfig): void {
  if (will === undefined) return;
  validateTopicName(will.topic); // TopicNameInvalidError, 0x90
  if (will.qos > config.maximumQoS) {
    throw new QoSNotSupportedError('Will QoS above Maximum QoS', { specRef: 'MQTT-3.2.2-12' });
  }
  if (will.retain && !config.retainAvailable) {
    throw new RetainNotSupportedError('Retained will while Retain Available is 0', { specRef: 'MQTT-3.2.2-13' });
  }
}

/**
 * Maps the runtime's authentication verdict to a principal or a typed refusal. No v5
 * Authentication Method is supported [MQTT-4.12.0-1]. A CONNECT that nothing identified (no user
 * name, no principal) is refused unless anonymous clients are allowed.
 */
function authenticate(packet: ConnectPacket, auth: AuthVerdict, config: BrokerConfig): string | null {
  if (packet.protocolVersion === 5 && packet.properties?.authenticationMethod !== undefined) {
    throw new BadAuthenticationMethodError('Authentication Method not supported', { specRef: 'MQTT-4.12.0-1' });
  }
  if (!auth.ok) {
    if (auth.reason === 'bad-credentials') throw new BadUserNameOrPasswordError('Bad user name or password');
    throw new NotAuthorizedError('Not authorized');
  }
  const principal = auth.principal ?? null;
  if (packet.username === undefined && principal === null && !config.allowAnonymous) {
    throw new NotAuthorizedError('Anonymous clients are not allowed');
  }
  return principal;
}

/**
 * The connection's access rules, once the client id is final (an assigned id is known only now):
 * `%u` and `%c` are substituted here. No `access` in the verdict, or allow-by-default with no
 * rule: unrestricted (null).
 */
function compileAccess(auth: AuthVerdict, principal: string | null, clientId: string): ConnectionAcl | null {
  if (!auth.ok || auth.access === undefined) return null;
  // Allowed by default with no rule: unrestricted, and nothing to store with the connection.
  if (auth.access.defaultEffect === 'allow' && auth.access.rules.length === 0) return null;
  return compileAcl(auth.access, { username: auth.username ?? principal, clientId });
}

/**
 * The will is a PUBLISH the client asks for in advance: its topic must be one the client may
 * publish to, or the CONNECT is refused with 0x87 Not authorized (3.1.1: return code 5).
 */
function checkWillAllowed(will: Will | undefined, acl: ConnectionAcl | null): void {
  if (will !== undefined && !canPublish(acl, will.topic)) {
    throw new NotAuthorizedError('Will topic not allowed by the access rules');
  }
}

/**
 * A client id whose live session another principal claimed is refused with 0x87 Not authorized
 * (3.1.1: return code 5), Clean Start or not: taking it over would hand that principal's queued
 * and in-flight messages to this one, and let any user disconnect any device by its client id.
 */
function checkSessionOwner(identity: ClientIdentity, existing: SessionSummary | null, principal: string | null, now: number): void {
  if (identity.assigned || existing === null || existing.principal === undefined) return;
  const live = existing.expiresAt === null || existing.expiresAt > now;
  if (live && existing.principal !== principal) {
    throw new NotAuthorizedError('Client identifier in use by another principal');
  }
}

/**
 * Clean start vs resume, and the effective Session Expiry Interval.
 * - Clean Start 1: Session Present 0 [MQTT-3.2.2-2] (3.1.1: [MQTT-3.2.2-1]).
 * - Clean Start 0: Session Present 1 iff a live session exists [MQTT-3.2.2-3]
 *   (3.1.1: [MQTT-3.2.2-2] [MQTT-3.2.2-3]). An assigned id never has one. 3.1 has no Session Present flag.
 * - v5: the requested interval (absent = 0), clamped to the maximum; v3/v4: 0 for a clean
 *   session, the configured maximum for a persistent one.
 */
function decideSession(
  packet: ConnectPacket,
  identity: ClientIdentity,
  existing: SessionSummary | null,
  ctx: BrokerContext,
): SessionDecision {
  const max = ctx.config.maximumSessionExpiryInterval;
  const live = existing !== null && (existing.expiresAt === null || existing.expiresAt > ctx.now);
  const resumable = !packet.clean && !identity.assigned && live;
  const decided = { sessionPresent: resumable && packet.protocolVersion !== 3 };
  if (packet.protocolVersion !== 5) {
    return { ...decided, sessionExpiryInterval: packet.clean ? 0 : max, clamped: false };
  }
  const requested = packet.properties?.sessionExpiryInterval ?? 0;
  const granted = Math.min(requested, max);
  return { ...decided, sessionExpiryInterval: granted, clamped: granted !== requested };
}

/**
 * v5: impose Server Keep Alive when the client asks for none (0) or for more than it; the client
 * must then use it [MQTT-3.2.2-21]. Otherwise the client's value applies [MQTT-3.2.2-22], and
 * the CONNACK states it as Server Keep Alive all the same, unless Server Keep Alive is off (null).
 */
function decideKeepAlive(packet: ConnectPacket, config: BrokerConfig): KeepAliveDecision {
  const server = config.serverKeepAlive;
  const requested = packet.keepAlive;
  const announced = packet.protocolVersion === 5 && server !== null;
  if (announced && (requested === 0 || requested > server)) {
    return { keepAlive: server, imposed: true, announced };
  }
  return { keepAlive: requested, imposed: false, announced };
}

/** Claim the session (takeover is resolved in the store), then record the connection. */
function connectIntents(
  packet: ConnectPacket,
  params: ConnectionParams,
  session: SessionDecision,
  ctx: BrokerContext,
): Intent[] {
  return [
    {
      kind: 'session.claim',
      clientId: params.clientId,
      clientIdAssigned: params.clientIdAssigned,
      connectionId: ctx.connectionId,
      protocolVersion: params.protocolVersion,
      cleanStart: packet.clean,
      sessionExpiryInterval: params.sessionExpiryInterval,
      requestTimeEpoch: ctx.requestTimeEpoch,
    },
    {
      kind: 'connection.markConnected',
      connectionId: ctx.connectionId,
      connection: params,
      connectedAt: ctx.now,
    },
  ];
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
