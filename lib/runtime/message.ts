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
  type ConnectionState,
  type Decision,
  type MqttConnectionState,
} from '../broker';
import type { SendOutcome } from '../gateway/delivery';
import type { MessageEvent, GatewayResult } from '../gateway/events';
import { decodeBody } from '../gateway/framing';
import { FramingError } from '../gateway/errors';
import {
  createDecoder,
  decode,
  encode,
  MalformedPacketError,
  MqttError,
  peekPublishTopic,
  ProtocolViolationError,
  type Packet,
  type ProtocolVersion,
  type Will,
} from '../mqtt';
import type { ConnectionRecord } from '../store/ports';
import { carryOut, type EffectContext } from './effects';
import { inputsFor, RouteLookup } from './inputs';
import { drainQueue, drainTargetOf, resumeSession } from './pubsub';
import type { RuntimeDeps } from './handlers';
import type { TransportMode } from '../api-gateway';

const OK: GatewayResult = { statusCode: 200 };

/** What one invocation accumulates: reply bytes, and whether to close afterwards. */
interface Outbox {
  chunks: Uint8Array[];
  close: boolean;
  /** A session resumed in this message: its queue drains after the replies are sent. */
  resumed: ConnectionRecord | undefined;
}

export async function handleMessage(deps: RuntimeDeps, event: MessageEvent): Promise<GatewayResult> {
  const { connectionId } = event.requestContext;
  const mode: TransportMode = event.isBase64Encoded ? 'binary' : 'text';
  const outbox: Outbox = { chunks: [], close: false, resumed: undefined };
  const body = readBody(deps, event);
  // A PUBLISH's routes are looked up while the connection record is read: one round trip.
  const routes = new RouteLookup(deps);
  const topic = body instanceof Uint8Array ? peekPublishTopic(body) : undefined;
  if (topic !== undefined) routes.prefetch(topic);
  const record = await deps.connections.get(connectionId);
  if (record === undefined) {
    // No live record: the connection is gone or was never accepted. Nothing to answer.
    deps.log.warn('message on unknown connection', { connectionId });
    await deliveryOf(deps, event).close(connectionId);
    return OK;
  }
  const state = toBrokerState(record);
  const packets = decodeMessage(deps, body, event, state, outbox);
  if (packets !== undefined) {
    try {
      await runPackets(deps, event, { record, mode, routes }, state, packets, outbox);
    } catch (error) {
      // A later packet failed: the replies already decided (a CONNACK, PUBACKs of routed
      // messages) still go out, then the connection closes (v5: DISCONNECT 0x83).
      deps.log.error('packet failed', { connectionId, error });
      if (record.protocolVersion === 5) outbox.chunks.push(encode({ type: 'disconnect', reasonCode: 0x83 }, 5));
      outbox.close = true;
    }
  }
  if (!(await flushOrClose(deps, event, mode, outbox))) return OK;
  // Queued messages of a resumed session follow its CONNACK and resent messages.
  if (outbox.resumed !== undefined) await drainQueue(deps, drainTargetOf(outbox.resumed), event.requestContext, deps.maxQueued);
  return OK;
}

/** The message's bytes, or the framing error to answer with once the connection is known. */
function readBody(deps: RuntimeDeps, event: MessageEvent): Uint8Array | FramingError {
  try {
    const bytes = decodeBody(event, { allowBinary: deps.allowBinary });
    deps.metrics.add('BytesIn', bytes.byteLength);
    return bytes;
  } catch (err) {
    if (err instanceof FramingError) return err;
    throw err;
  }
}

/** Decodes the message's packets; on bad input queues the specified reaction and returns undefined. */
function decodeMessage(
  deps: RuntimeDeps,
  body: Uint8Array | FramingError,
  event: MessageEvent,
  state: ConnectionState,
  outbox: Outbox,
): Packet[] | undefined {
  const version = state.status === 'mqtt' ? state.protocolVersion : undefined;
  try {
    if (body instanceof FramingError) throw new MalformedPacketError('message body is not base64', { cause: body });
    const decoder = createDecoder({ protocolVersion: version, maxPacketSize: deps.broker.maximumPacketSize });
    const { packets, state: decoderState } = decode(decoder, body);
    if (decoderState.pending !== null) {
      // A client message carries whole packets (docs/TRANSPORT.md); a cut one cannot be completed.
      throw new MalformedPacketError('message ends inside a packet', { specRef: 'MQTT-1.5.5-1' });
    }
    return packets;
  } catch (error) {
    if (!(error instanceof MqttError)) throw error;
    deps.log.info('bad input', { connectionId: event.requestContext.connectionId, error });
    queue(outbox, decideOnError(error, state, event.requestContext.connectionId, version));
    return undefined;
  }
}

interface Invocation {
  record: ConnectionRecord;
  readonly mode: TransportMode;
  readonly routes: RouteLookup;
}

async function runPackets(
  deps: RuntimeDeps,
  event: MessageEvent,
  invocation: Invocation,
  initial: ConnectionState,
  packets: Packet[],
  outbox: Outbox,
): Promise<void> {
  let state = initial;
  const { connectionId, requestTimeEpoch } = event.requestContext;
  for (const packet of packets) {
    deps.metrics.add('MessagesIn');
    const inputs = await inputsFor(deps, packet, state, invocation);
    const ctx = { config: deps.broker, now: deps.now(), connectionId, requestTimeEpoch, ...inputs.core };
    const result = handlePacket(packet, state, ctx);
    if (result.kind === 'unhandled') {
      deps.log.warn('packet type not supported', { connectionId, packetType: result.packetType });
      queue(outbox, notYetSupported(result.state, result.packetType, connectionId));
      return;
    }
    const effects: EffectContext = {
      record: invocation.record,
      mode: invocation.mode,
      packet,
      connectionId,
      state,
      gateway: event.requestContext,
      sessionHint: inputs.sessionHint,
      targets: inputs.targets,
      after: [],
    };
    const decision = await carryOut(deps, result, effects);
    invocation.record = effects.record;
    queue(outbox, decision);
    outbox.chunks.push(...effects.after);
    if (effects.claimed?.sessionPresent && decision.close === null) {
      outbox.chunks.push(...(await resumeSession(deps, invocation.record, event.requestContext)));
      outbox.resumed = invocation.record;
    }
    state = decision.state;
    if (decision.close !== null) return;
  }
}

/**
 * A packet the core returned undecided because an input was missing: a runtime defect, never the
 * client's fault. The client is told plainly: v5 DISCONNECT 0x83 (Implementation specific
 * error), or a close; the session and its messages stay intact.
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

/**
 * Sends the replies, then closes if the core said so; false when the connection was closed. A
 * reply that never arrives (a CONNACK, a PUBACK) would leave the client waiting until its own
 * timeout, and a throttled reply may have left half a packet on its stream; so the connection is
 * closed instead, and the client reconnects and resends its unacknowledged QoS 1/2 messages
 * [MQTT-4.4.0-1].
 */
async function flushOrClose(deps: RuntimeDeps, event: MessageEvent, mode: TransportMode, outbox: Outbox): Promise<boolean> {
  const { connectionId } = event.requestContext;
  let status: SendOutcome['status'];
  try {
    status = await sendReplies(deps, event, mode, outbox);
  } catch (error) {
    deps.log.error('replies not delivered: closing the connection', { connectionId, error });
    await closeQuietly(deps, event);
    return false;
  }
  if (status === 'gone') return false;
  if (status === 'throttled') {
    deps.log.warn('replies throttled: closing the connection', { connectionId });
    await closeQuietly(deps, event);
    return false;
  }
  if (outbox.close) await closeQuietly(deps, event);
  return !outbox.close;
}

/** Posts the replies, if any; answers how the post ended. */
async function sendReplies(deps: RuntimeDeps, event: MessageEvent, mode: TransportMode, outbox: Outbox): Promise<SendOutcome['status']> {
  if (outbox.chunks.length === 0) return 'sent';
  const bytes = concat(outbox.chunks);
  const outcome = await deliveryOf(deps, event).send(event.requestContext.connectionId, bytes, mode);
  deps.metrics.add('MessagesOut', outbox.chunks.length);
  deps.metrics.add('BytesOut', bytes.byteLength);
  if (outcome.status === 'gone') deps.metrics.add('Gone410');
  if (outcome.status === 'throttled') deps.metrics.add('DeliveryErrors');
  return outcome.status;
}

/** Closes the connection; a failure is logged (the client's keep-alive or the gateway ends it). */
async function closeQuietly(deps: RuntimeDeps, event: MessageEvent): Promise<void> {
  const { connectionId } = event.requestContext;
  try {
    await deliveryOf(deps, event).close(connectionId);
  } catch (error) {
    deps.log.warn('closing the connection failed', { connectionId, error });
  }
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
    principal: record.principal ?? null,
    acl: record.acl ?? null,
    clientLimits: {
      receiveMaximum: record.receiveMaximum ?? 65_535,
      maximumPacketSize: record.maximumPacketSize ?? null,
      topicAliasMaximum: record.topicAliasMaximum ?? 0,
    },
  };
}
