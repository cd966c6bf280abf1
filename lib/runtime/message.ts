/**
 * `$default`: one WebSocket message from a client, carrying one or more whole MQTT packets.
 *
 * Steps: bytes from the event → the connection's record (one read) → decode → the core decides,
 * packet by packet, threading the connection state → intents carried out → every reply packed
 * into one post (API Gateway meters per message, so one post is cheaper than one per packet) →
 * close when the core says so.
 */
import {
  decideOnError,
  handlePacket,
  SESSION_NEVER_EXPIRES,
  type SessionSummary,
  type ConnectionState,
  type Decision,
  type MqttConnectionState,
} from '../broker';
import type { MessageEvent, GatewayResult } from '../gateway/events';
import { decodeBody } from '../gateway/framing';
import { FramingError } from '../gateway/errors';
import {
  createDecoder,
  decode,
  encode,
  MalformedPacketError,
  MqttError,
  ProtocolViolationError,
  type ConnectPacket,
  type Packet,
  type ProtocolVersion,
  type Will,
} from '../mqtt';
import type { ConnectionRecord, TransportMode } from '../store/ports';
import type { SessionRecord } from '../store/session-port';
import { carryOut } from './effects';
import type { RuntimeDeps } from './handlers';

const OK: GatewayResult = { statusCode: 200 };

/** What one invocation accumulates: reply bytes, and whether to close afterwards. */
interface Outbox {
  chunks: Uint8Array[];
  close: boolean;
}

export async function handleMessage(deps: RuntimeDeps, event: MessageEvent): Promise<GatewayResult> {
  const { connectionId } = event.requestContext;
  const mode: TransportMode = event.isBase64Encoded ? 'binary' : 'text';
  const outbox: Outbox = { chunks: [], close: false };
  const record = await deps.connections.get(connectionId);
  if (record === undefined) {
    // No live record: the connection is gone or was never accepted. Nothing to answer.
    deps.log.warn('message on unknown connection', { connectionId });
    await deliveryOf(deps, event).close(connectionId);
    return OK;
  }
  const state = toBrokerState(record);
  const packets = decodeMessage(deps, event, state, outbox);
  if (packets !== undefined) await runPackets(deps, event, record, mode, state, packets, outbox);
  await flush(deps, event, mode, outbox);
  return OK;
}

/** Decodes the message's packets; on bad input queues the specified reaction and returns undefined. */
function decodeMessage(deps: RuntimeDeps, event: MessageEvent, state: ConnectionState, outbox: Outbox): Packet[] | undefined {
  const version = state.status === 'mqtt' ? state.protocolVersion : undefined;
  try {
    const bytes = decodeBody(event, { allowBinary: deps.allowBinary });
    deps.metrics.add('BytesIn', bytes.byteLength);
    const decoder = createDecoder({ protocolVersion: version, maxPacketSize: deps.broker.maximumPacketSize });
    const { packets, state: decoderState } = decode(decoder, bytes);
    if (decoderState.pending !== null) {
      // A client message carries whole packets (docs/TRANSPORT.md); a cut one cannot be completed.
      throw new MalformedPacketError('message ends inside a packet', { specRef: 'MQTT-1.5.5-1' });
    }
    return packets;
  } catch (err) {
    const error = err instanceof FramingError ? new MalformedPacketError('message body is not base64', { cause: err }) : err;
    if (!(error instanceof MqttError)) throw error;
    deps.log.info('bad input', { connectionId: event.requestContext.connectionId, error });
    queue(outbox, decideOnError(error, state, event.requestContext.connectionId, version));
    return undefined;
  }
}

async function runPackets(
  deps: RuntimeDeps,
  event: MessageEvent,
  record: ConnectionRecord,
  mode: TransportMode,
  initial: ConnectionState,
  packets: Packet[],
  outbox: Outbox,
): Promise<void> {
  let state = initial;
  const { connectionId, requestTimeEpoch } = event.requestContext;
  for (const packet of packets) {
    deps.metrics.add('MessagesIn');
    const inputs = packet.type === 'connect' && state.status === 'open' ? await connectInputs(deps, packet) : undefined;
    const ctx = { config: deps.broker, now: deps.now(), connectionId, requestTimeEpoch, connect: inputs?.core };
    const result = handlePacket(packet, state, ctx);
    let decision: Decision;
    if (result.kind === 'unhandled') {
      decision = notYetSupported(result.state, result.packetType, connectionId);
      deps.log.warn('packet type not supported yet', { connectionId, packetType: result.packetType });
    } else {
      decision = await carryOut(deps, result, {
        record,
        mode,
        packet,
        connectionId,
        state,
        gateway: event.requestContext,
        sessionHint: inputs?.sessionHint,
      });
    }
    queue(outbox, decision);
    state = decision.state;
    if (decision.close !== null) return;
  }
}

/**
 * What the core needs to decide a CONNECT: the authenticator's verdict and, for a Clean Start 0
 * CONNECT with a client-chosen id, the stored session (one strongly consistent read). A clean
 * CONNECT needs no read: its Session Present is 0 whatever is stored [MQTT-3.2.2-2].
 */
async function connectInputs(deps: RuntimeDeps, packet: ConnectPacket) {
  const auth = await deps.authenticate(packet);
  if (!auth.ok) deps.metrics.add('AuthFailures');
  if (packet.clean || packet.clientId === '') return { core: { auth, existingSession: null } };
  const session = await deps.sessions.get(packet.clientId);
  const sessionHint: 'absent' | 'present' = session === undefined ? 'absent' : 'present';
  return { core: { auth, existingSession: session === undefined ? null : sessionSummary(session) }, sessionHint };
}

/** Online sessions and sessions that never expire have no expiry time for the core. */
function sessionSummary(session: SessionRecord): SessionSummary {
  if (session.connectionId !== undefined || session.sessionExpiryInterval === SESSION_NEVER_EXPIRES) {
    return { expiresAt: null };
  }
  return { expiresAt: session.expiresAt * 1000 };
}

/**
 * PUBLISH, SUBSCRIBE and the acknowledgements come with "Broker core II". Until then a client
 * that sends one is told plainly: v5 DISCONNECT 0x83 (Implementation specific error), or a close.
 */
function notYetSupported(state: MqttConnectionState, packetType: string, connectionId: string): Decision {
  const error = new ProtocolViolationError(`${packetType} is not supported yet`);
  const decision = decideOnError(error, state, connectionId, state.protocolVersion);
  if (state.protocolVersion !== 5) return decision;
  return { ...decision, send: [{ type: 'disconnect', reasonCode: 0x83 }] };
}

function queue(outbox: Outbox, decision: Decision): void {
  for (const packet of decision.send) outbox.chunks.push(encode(packet, decision.protocolVersion as ProtocolVersion));
  if (decision.close !== null) outbox.close = true;
}

async function flush(deps: RuntimeDeps, event: MessageEvent, mode: TransportMode, outbox: Outbox): Promise<void> {
  const { connectionId } = event.requestContext;
  const delivery = deliveryOf(deps, event);
  if (outbox.chunks.length > 0) {
    const bytes = concat(outbox.chunks);
    const outcome = await delivery.send(connectionId, bytes, mode);
    deps.metrics.add('MessagesOut', outbox.chunks.length);
    deps.metrics.add('BytesOut', bytes.byteLength);
    if (outcome.status === 'gone') deps.metrics.add('Gone410');
    if (outcome.status === 'throttled') deps.metrics.add('DeliveryErrors');
  }
  if (outbox.close) await delivery.close(connectionId);
}

function deliveryOf(deps: RuntimeDeps, event: MessageEvent) {
  return deps.deliveryFor(event.requestContext);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Stands for the will kept in the session store: its content is never used from here. */
const WILL_IN_SESSION_STORE: Will = Object.freeze({ topic: '(in session store)', payload: new Uint8Array(0), qos: 0, retain: false });

/** The core's view of a stored connection. */
export function toBrokerState(record: ConnectionRecord): ConnectionState {
  if (record.status !== 'mqtt' || record.clientId === undefined || record.protocolVersion === undefined) {
    return { status: 'open' };
  }
  return {
    status: 'mqtt',
    protocolVersion: record.protocolVersion,
    clientId: record.clientId,
    clientIdAssigned: false,
    keepAlive: record.keepAlive ?? 0,
    sessionExpiryInterval: record.sessionExpiryInterval ?? 0,
    // The core only needs to know whether a will exists (to discard or publish it); the will
    // itself is in the session item, where the disconnect path takes it.
    will: record.hasWill ? WILL_IN_SESSION_STORE : null,
    username: record.username ?? null,
    principal: null,
    clientLimits: {
      receiveMaximum: record.receiveMaximum ?? 65_535,
      maximumPacketSize: record.maximumPacketSize ?? null,
      topicAliasMaximum: record.topicAliasMaximum ?? 0,
    },
  };
}
