/**
 * `$default`: one WebSocket message from a client, carrying one or more whole MQTT packets. The
 * pipeline, in order:
 *
 *   event → bytes (lib/gateway/framing) → the connection's record (one read, with the PUBLISH's
 *   routes prefetched beside it) → packets (lib/mqtt) → per packet: inputs loaded (./inputs) →
 *   the core decides (lib/broker) → effects carried out (./effects) → replies flushed in one
 *   post (./outbox) → a resumed session's subscriptions attached, its queue drained, its gate
 *   opened (./effects/resume).
 *
 * Before its inputs are loaded, each PUBLISH takes a token of the connection's rate limit
 * (./publish-rate.ts); one over the limit is not routed, and the connection is closed (v5:
 * DISCONNECT 0x96 first), after the replies of the packets before it.
 */
import { decideOnError, handlePacket, ImplementationSpecificError, MessageRateTooHighError, type ConnectionState } from '../broker';
import type { TransportMode } from '../api-gateway';
import type { MessageEvent, GatewayResult } from '../gateway/events';
import { decodeBody } from '../gateway/framing';
import { FramingError } from '../gateway/errors';
import { createDecoder, decode, MalformedPacketError, MqttError, peekPublishTopic, type Packet } from '../mqtt';
import type { ConnectionRecord } from '../store/ports';
import { runDisconnectPath } from './disconnect-path';
import { carryOut, type EffectContext } from './effects';
import { finishResume, resumeSession } from './effects/resume';
import { inputsFor, RouteLookup } from './inputs';
import { closeQuietly, createOutbox, flushOrClose, queue, type Outbox } from './outbox';
import { toBrokerState } from './records';
import type { RuntimeDeps } from './types';

const OK: GatewayResult = { statusCode: 200 };

/** One WebSocket frame of a connection, however it arrived (a `$default` event or the ingress queue). */
export interface Frame {
  readonly connectionId: string;
  /** Arrival at the gateway, epoch ms. */
  readonly requestTimeEpoch: number;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

/** What to do when a packet fails for a reason of the server's own (a store or post failure). */
export type PacketFailure =
  /** Answer it: v5 DISCONNECT 0x83 and close (direct ingress: nothing would retry the frame). */
  | 'close'
  /** Throw: the queue retries the frame in order (ordered ingress). */
  | 'throw';

export async function handleMessage(deps: RuntimeDeps, event: MessageEvent): Promise<GatewayResult> {
  const { connectionId, requestTimeEpoch } = event.requestContext;
  const outbox = createOutbox(event.isBase64Encoded ? 'binary' : 'text');
  await receiveFrame(deps, { connectionId, requestTimeEpoch, body: event.body, isBase64Encoded: event.isBase64Encoded }, outbox, 'close');
  await sendReplies(deps, connectionId, outbox);
  return OK;
}

/**
 * Handles the packets of one frame, gathering the replies in `outbox`; nothing is posted here.
 * With `failure` 'throw' a failing packet throws, and the replies it had gathered are discarded
 * by the caller (the frame is retried whole); with 'close' it is answered, and 'failed' says so.
 */
export async function receiveFrame(deps: RuntimeDeps, frame: Frame, outbox: Outbox, failure: PacketFailure): Promise<'handled' | 'failed'> {
  const { connectionId } = frame;
  if (deps.publishLimiter?.isClosed(connectionId) === true) {
    // Sent before the rate limit closed the connection, handled after: nothing to read or answer.
    deps.log.debug('frame after the rate limit closed the connection: dropped', { connectionId });
    return 'handled';
  }
  const body = readBody(deps, frame);
  // A PUBLISH's routes are looked up while the connection record is read: one round trip.
  const routes = new RouteLookup(deps);
  const topic = body instanceof Uint8Array ? peekPublishTopic(body) : undefined;
  // Not for a PUBLISH that will be refused by the rate limit: its routes would be a wasted Query.
  if (topic !== undefined && (deps.publishLimiter?.wouldAdmit(connectionId, frame.requestTimeEpoch) ?? true)) routes.prefetch(topic);
  const record = await readConnection(deps, connectionId, failure);
  if (record === 'failed') {
    outbox.close = true;
    return 'failed';
  }
  if (record === undefined) {
    // No live record: the connection is gone or was never accepted. Nothing to answer.
    deps.log.warn('message on unknown connection', { connectionId });
    outbox.close = true;
    return 'handled';
  }
  const state = toBrokerState(record);
  const packets = decodeMessage(deps, body, connectionId, state, outbox);
  if (packets === undefined) return 'handled';
  const invocation: Invocation = { record, mode: outbox.mode, routes, admitted: 0 };
  try {
    await runPackets(deps, frame, invocation, state, packets, outbox);
    return 'handled';
  } catch (cause) {
    if (failure === 'throw') {
      // The frame is handled again, all of it: its PUBLISH packets take their tokens again.
      deps.publishLimiter?.refund(connectionId, invocation.admitted);
      throw cause;
    }
    // A later packet failed: the replies already decided (a CONNACK, PUBACKs of routed
    // messages) still go out, then the connection closes (v5: DISCONNECT 0x83).
    deps.log.error('packet failed', { connectionId, error: cause });
    queue(outbox, decideOnError(new ImplementationSpecificError('packet failed', { cause }), state, connectionId));
    return 'failed';
  }
}

/**
 * The connection's record. A read that fails (after the SDK's own retries) cannot be answered in
 * MQTT: the protocol version is in the record. With 'throw' the frame is retried in order, as any
 * failing packet (ordered ingress: in place, then through the queue). With 'close' nothing would
 * retry it (direct ingress; a 500 reaches the client only as an "Internal server error" frame it
 * ignores), so the connection is closed: the client reconnects and resends its unacknowledged
 * QoS 1 and QoS 2 PUBLISH [MQTT-4.4.0-1] instead of waiting for their acks (issue 13, defect 9).
 */
async function readConnection(deps: RuntimeDeps, connectionId: string, failure: PacketFailure): Promise<ConnectionRecord | undefined | 'failed'> {
  try {
    return await deps.connections.get(connectionId);
  } catch (error) {
    if (failure === 'throw') throw error;
    deps.log.error('connection read failed: closing the connection', { connectionId, error });
    return 'failed';
  }
}

/**
 * Posts the gathered replies in one message and closes if asked; then a session resumed on the
 * way gets its backlog, after its CONNACK and resent messages, and live messages after that
 * (./effects/resume.ts). A resume that cannot finish closes the connection: its gate stays held
 * (live copies keep queueing), and the client's next CONNECT resumes the session again.
 */
export async function sendReplies(deps: RuntimeDeps, connectionId: string, outbox: Outbox): Promise<void> {
  if (!(await flushOrClose(deps, connectionId, outbox.mode, outbox))) return;
  if (outbox.resumed === undefined) return;
  try {
    await finishResume(deps, outbox.resumed);
  } catch (error) {
    deps.log.error('resume not finished: closing the connection', { connectionId, error });
    await closeQuietly(deps, connectionId);
  }
}

/** The message's bytes, or the framing error to answer with once the connection is known. */
function readBody(deps: RuntimeDeps, frame: Frame): Uint8Array | FramingError {
  try {
    const bytes = decodeBody(frame, { allowBinary: deps.allowBinary });
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
  connectionId: string,
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
    deps.log.info('bad input', { connectionId, error });
    queue(outbox, decideOnError(error, state, connectionId, version));
    return undefined;
  }
}

interface Invocation {
  record: ConnectionRecord;
  readonly mode: TransportMode;
  readonly routes: RouteLookup;
  /** PUBLISH packets of this frame admitted by the rate limit so far. */
  admitted: number;
}

/** Each packet in turn: inputs → decision → effects, threading the connection state. */
async function runPackets(
  deps: RuntimeDeps,
  frame: Frame,
  invocation: Invocation,
  initial: ConnectionState,
  packets: Packet[],
  outbox: Outbox,
): Promise<void> {
  let state = initial;
  const { connectionId, requestTimeEpoch } = frame;
  for (const packet of packets) {
    deps.metrics.add('MessagesIn');
    if (packet.type === 'publish' && state.status === 'mqtt' && !admitPublish(deps, frame, invocation)) {
      queue(outbox, refuseOverRate(deps, state, connectionId));
      return;
    }
    const inputs = await inputsFor(deps, packet, state, invocation);
    const decision = handlePacket(packet, state, { config: deps.broker, now: deps.now(), connectionId, requestTimeEpoch, ...inputs.core });
    const effects: EffectContext = {
      record: invocation.record,
      mode: invocation.mode,
      packet,
      connectionId,
      state,
      sessionHint: inputs.sessionHint,
      after: [],
    };
    const settled = await carryOut(deps, decision, effects);
    invocation.record = effects.record;
    queue(outbox, settled);
    outbox.chunks.push(...effects.after);
    if (effects.claimed?.sessionPresent && settled.close === null) {
      const { resends, resumed } = await resumeSession(deps, invocation.record);
      outbox.chunks.push(...resends);
      outbox.resumed = resumed;
    }
    state = settled.state;
    if (settled.close?.reason === 'client-disconnect') {
      // The client said DISCONNECT: its session is released now, not when the close reaches us.
      // The close may come after the client's next CONNECT on a new connection (another group of
      // the ingress queue, or an unordered invocation), which must find the session ended.
      await runDisconnectPath(deps, connectionId, 'client-closed', invocation.record, deps.now());
    }
    if (settled.close !== null) return;
  }
}

/** Takes a token of the connection's publish rate limit, at the frame's arrival: false when over it. */
function admitPublish(deps: RuntimeDeps, frame: Frame, invocation: Invocation): boolean {
  if (deps.publishLimiter === undefined) return true;
  if (!deps.publishLimiter.admit(frame.connectionId, frame.requestTimeEpoch)) return false;
  invocation.admitted += 1;
  return true;
}

/**
 * A PUBLISH over the rate limit: not routed, counted, and the connection closed; v5 gets
 * DISCONNECT 0x96 (Message rate too high) [MQTT-3.14.2-1] [MQTT-4.13.2-1]. The client sent no
 * DISCONNECT 0x00, so the disconnect path publishes its will [MQTT-3.1.2-8].
 */
function refuseOverRate(deps: RuntimeDeps, state: ConnectionState, connectionId: string) {
  deps.metrics.add('PublishRateLimited');
  deps.publishLimiter?.closed(connectionId);
  const clientId = state.status === 'mqtt' ? state.clientId : undefined;
  const { perSecond, burst } = deps.publishLimiter?.rate ?? { perSecond: 0, burst: 0 };
  deps.log.info('publish rate above the per-client limit: connection closed', { connectionId, clientId, perSecond, burst });
  return decideOnError(new MessageRateTooHighError(`more than ${perSecond} PUBLISH a second (burst ${burst})`), state, connectionId);
}
