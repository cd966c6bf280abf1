/**
 * One connection of the handler fuzzer: `$connect`, a first message (mostly a CONNECT), up to
 * 23 more messages while the server keeps the connection, then `$disconnect`. Each message is
 * judged by ./oracle.ts; the connection's end by the session checks below:
 * - a persistent session whose connection was closed for a rejected message keeps its session,
 *   its subscriptions and its unacknowledged messages [MQTT-4.1.0-1];
 * - a connection closed without a DISCONNECT from the client publishes its will [MQTT-3.1.2-8].
 */
import type { GatewayResult } from '../../lib/gateway/events';
import type { Packet, ProtocolVersion } from '../../lib/mqtt';
import type { TestConnection } from '../helpers/memory-runtime';
import { connectFrame, dataFrame, type Frame, type StandardConnect } from './frames';
import type { FuzzRuntime } from './fuzz-runtime';
import { decodeReplies, expectationOf, hex, judge, replyVersion, type Expected, type Phase } from './oracle';
import type { PacketPool } from './pool';
import type { Prng } from './prng';

export interface FuzzFailure {
  readonly session: number;
  /** The message that failed, counted from 0 (the first message); -1 for a session check. */
  readonly frame: number;
  readonly version: ProtocolVersion;
  readonly problem: string;
  /** The session's messages up to the failing one: base64 bodies as sent (a binary frame marked `binary:`). */
  readonly frames: readonly string[];
}

export interface SessionTally {
  packets: number;
  frames: number;
  rejected: number;
  readonly reactions: Map<string, number>;
  readonly failures: FuzzFailure[];
}

interface SessionState {
  phase: Phase;
  closed: boolean;
  /** A DISCONNECT packet reached the server (the will may be discarded). */
  disconnected: boolean;
  /** Taken before a rejected message on a persistent connected session of ours. */
  snapshot?: SessionSnapshot;
  readonly history: string[];
}

interface SessionSnapshot {
  readonly clientId: string;
  readonly epoch: string;
  readonly subscriptions: string;
  readonly inflight: readonly number[];
}

export async function runSession(fuzz: FuzzRuntime, pool: PacketPool, prng: Prng, session: number, tally: SessionTally): Promise<void> {
  const version = prng.pick([3, 4, 5] as const);
  const connection = await fuzz.runtime.open(version);
  const first = connectFrame(pool, version, prng, session);
  const state: SessionState = { phase: { status: 'open' }, closed: false, disconnected: false, history: [] };
  const fail = (frame: number, problem: string) => tally.failures.push({ session, frame, version, problem, frames: [...state.history] });
  const messages = prng.between(4, 24);
  for (let i = 0; i < messages && !state.closed; i++) {
    const frame = i === 0 ? first.frame : dataFrame(pool, version, prng);
    const problem = await sendFrame(fuzz, connection, frame, state, first.standard, tally);
    if (problem !== undefined) {
      fail(i, problem);
      break;
    }
  }
  await connection.close();
  fuzz.takePosts(connection.id); // the will reaches the witness at the close
  const problem = await sessionProblem(fuzz, state, first.standard);
  if (problem !== undefined) fail(-1, problem);
  fuzz.forget(connection.id);
}

async function sendFrame(
  fuzz: FuzzRuntime,
  connection: TestConnection,
  frame: Frame,
  state: SessionState,
  standard: StandardConnect | undefined,
  tally: SessionTally,
): Promise<string | undefined> {
  state.history.push(frame.isBase64Encoded ? `binary:${frame.body}` : frame.body);
  const expected = expectationOf(frame, state.phase, fuzz.runtime.deps.broker.maximumPacketSize);
  tally.frames += 1;
  tally.packets += frame.packets;
  if (expected.kind === 'rejected') tally.rejected += 1;
  if (expected.kind === 'rejected' && state.phase.status === 'connected' && standard?.persistent) {
    state.snapshot = await snapshotOf(fuzz, connection.id);
  }
  let result: GatewayResult;
  try {
    result = await fuzz.handle(connection.id, () => connection.sendBody(frame.body, frame.isBase64Encoded));
  } catch (error) {
    return `the handler threw: ${(error as Error).stack ?? String(error)}`;
  }
  if (result.statusCode !== 200) return `the handler answered ${result.statusCode}`;
  const closed = fuzz.closed(connection.id);
  const sent = decodeReplies(fuzz.takePosts(connection.id), replyVersion(expected, state.phase));
  if (typeof sent === 'string') return sent;
  count(tally.reactions, reactionKind(sent, closed));
  if (fuzz.lateSends.splice(0).length > 0) return `posted after the close [MQTT-3.14.4-1]`;
  const problem = judge(expected, state.phase, sent, closed);
  if (problem !== undefined) return problem;
  advance(state, expected, sent, closed);
  return undefined;
}

/** The phase after the message; a rejected message that closed nothing has failed the oracle already. */
function advance(state: SessionState, expected: Expected, sent: readonly Packet[], closed: boolean): void {
  state.closed = closed;
  if (expected.kind !== 'packets') return;
  if (expected.packets.some((p) => p.type === 'disconnect')) state.disconnected = true;
  const first = expected.packets[0];
  if (state.phase.status === 'open' && first?.type === 'connect' && sent[0]?.type === 'connack' && sent[0].reasonCode === 0) {
    const maximumPacketSize = first.properties?.maximumPacketSize;
    const acks = maximumPacketSize === undefined || maximumPacketSize >= 256;
    state.phase = { status: 'connected', version: first.protocolVersion as ProtocolVersion, acks };
  }
}

async function snapshotOf(fuzz: FuzzRuntime, connectionId: string): Promise<SessionSnapshot | undefined> {
  const { connections, subscriptions, messages } = fuzz.runtime.stores;
  const record = await connections.get(connectionId);
  if (record?.clientId === undefined || record.sessionEpoch === undefined) return undefined;
  const { clientId, sessionEpoch: epoch } = record;
  const subs = (await subscriptions.listByClient(clientId)).map((s) => `${s.filter}:${s.qos}`).sort();
  const inflight = (await messages.inflight(clientId, epoch)).map((m) => m.packetId);
  return { clientId, epoch, subscriptions: subs.join(' '), inflight };
}

/** After `$disconnect`: what the session must still hold, and the will that must have gone out. */
async function sessionProblem(fuzz: FuzzRuntime, state: SessionState, standard: StandardConnect | undefined): Promise<string | undefined> {
  const { snapshot } = state;
  if (snapshot !== undefined && state.closed) {
    const after = await fuzz.runtime.stores.sessions.get(snapshot.clientId);
    if (after?.sessionEpoch !== snapshot.epoch) return `the persistent session of ${snapshot.clientId} ended with a rejected message [MQTT-4.1.0-1]`;
    const now = await snapshotAfter(fuzz, snapshot);
    if (now.subscriptions !== snapshot.subscriptions) return `subscriptions changed by a rejected message: ${snapshot.subscriptions} -> ${now.subscriptions}`;
    const lost = snapshot.inflight.filter((id) => !now.inflight.includes(id));
    if (lost.length > 0) return `unacknowledged messages lost with a rejected message: packet ids ${lost.join(', ')}`;
  }
  if (standard?.will !== undefined && state.phase.status === 'connected' && !state.disconnected) {
    const key = `will/${standard.clientId}|${standard.will}`;
    if (!fuzz.wills.has(key)) return `the will of ${standard.clientId} was not published at an unannounced close [MQTT-3.1.2-8]`;
  }
  fuzz.wills.clear();
  return undefined;
}

async function snapshotAfter(fuzz: FuzzRuntime, before: SessionSnapshot): Promise<SessionSnapshot> {
  const { subscriptions, messages } = fuzz.runtime.stores;
  const subs = (await subscriptions.listByClient(before.clientId)).map((s) => `${s.filter}:${s.qos}`).sort();
  const inflight = (await messages.inflight(before.clientId, before.epoch)).map((m) => m.packetId);
  return { ...before, subscriptions: subs.join(' '), inflight };
}

/** The reaction's kind, for the report: what was sent last, and whether the connection closed. */
export function reactionKind(sent: readonly Packet[], closed: boolean): string {
  const last = sent[sent.length - 1];
  if (closed) {
    if (last?.type === 'disconnect') return `DISCONNECT ${hex(last.reasonCode ?? 0)}, close`;
    if (last?.type === 'connack') return `CONNACK ${hex(last.reasonCode)}, close`;
    return sent.length > 0 ? 'replies, close' : 'close, nothing sent';
  }
  if (sent[0]?.type === 'connack') return `CONNACK ${hex(sent[0].reasonCode)}`;
  return sent.length > 0 ? 'replies' : 'nothing sent';
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
