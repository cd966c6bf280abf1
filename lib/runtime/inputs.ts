/**
 * What the runtime loads before the core decides a packet: the core never reads a store itself.
 *
 * | packet | inputs | reads |
 * |---|---|---|
 * | CONNECT | auth verdict; the stored session for Clean Start 0 with a client-chosen id | 0 or 1 GetItem |
 * | PUBLISH | the routes of its topic (prefetched in parallel with the connection record) | 1 Query per candidate key |
 * | SUBSCRIBE, UNSUBSCRIBE | the client's current filters | 1 index Query |
 * | acks, PINGREQ, DISCONNECT | nothing | none |
 */
import {
  publishTopic,
  SESSION_NEVER_EXPIRES,
  type BrokerContext,
  type ConnectionState,
  type SessionSummary,
} from '../broker';
import type { ConnectPacket, Packet } from '../mqtt';
import type { ConnectionRecord } from '../store/ports';
import type { SessionRecord } from '../store/session-port';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SubscriptionRecord } from '../store/subscription-port';
import { toRoute } from './records';
import type { RuntimeDeps } from './types';

/** The routes of each topic, looked up once per invocation; the first may be prefetched. */
export class RouteLookup {
  private readonly byTopic = new Map<string, Promise<SubscriptionRecord[]>>();

  constructor(private readonly deps: RuntimeDeps) {}

  /** Starts the lookup now; a failure surfaces when (and if) the routes are used. */
  prefetch(topic: string): void {
    const lookup = this.deps.subscriptions.routesFor(topic);
    lookup.catch(() => undefined);
    this.byTopic.set(topic, lookup);
  }

  get(topic: string): Promise<SubscriptionRecord[]> {
    let lookup = this.byTopic.get(topic);
    if (lookup === undefined) {
      lookup = this.deps.subscriptions.routesFor(topic);
      this.byTopic.set(topic, lookup);
    }
    return lookup;
  }
}

export interface PacketInputs {
  readonly core: Pick<BrokerContext, 'connect' | 'publish' | 'subscribe' | 'unsubscribe'>;
  /** What the CONNECT's session read saw, to pick the claim's first write. */
  readonly sessionHint?: 'absent' | 'present';
}

const NONE: PacketInputs = { core: {} };

export async function inputsFor(
  deps: RuntimeDeps,
  packet: Packet,
  state: ConnectionState,
  invocation: { readonly record: ConnectionRecord; readonly routes: RouteLookup },
): Promise<PacketInputs> {
  if (packet.type === 'connect') return state.status === 'open' ? connectInputs(deps, packet, invocation.record) : NONE;
  if (state.status !== 'mqtt') return NONE;
  switch (packet.type) {
    case 'publish': {
      const topic = publishTopic(packet, state);
      const records = topic === undefined ? [] : await invocation.routes.get(topic);
      return { core: { publish: { routes: records.map(toRoute) } } };
    }
    case 'subscribe':
      return { core: { subscribe: { existingFilters: await currentFilters(deps, invocation.record) } } };
    case 'unsubscribe':
      return { core: { unsubscribe: { existingFilters: await currentFilters(deps, invocation.record) } } };
    default:
      return NONE;
  }
}

async function currentFilters(deps: RuntimeDeps, record: ConnectionRecord): Promise<Set<string>> {
  const mine = await deps.subscriptions.listByClient(record.clientId as string);
  return new Set(mine.filter((s) => s.sessionEpoch === record.sessionEpoch).map((s) => s.filter));
}

/**
 * What the core needs to decide a CONNECT: the authenticator's verdict (lib/auth/authenticator.ts:
 * a Query for the user and one per group, only when credentials or a token name one) and, for a Clean Start 0
 * CONNECT with a client-chosen id, the stored session (one strongly consistent read). A clean
 * CONNECT needs no read: its Session Present is 0 whatever is stored [MQTT-3.2.2-1].
 */
async function connectInputs(deps: RuntimeDeps, packet: ConnectPacket, record: ConnectionRecord): Promise<PacketInputs> {
  // A token verified by the `$connect` authorizer was recorded with the connection.
  const auth = await deps.authenticate(packet, { preAuth: record.preAuth });
  if (!auth.ok) deps.metrics.add('AuthFailures');
  // A clean CONNECT reads nothing: the claim's condition refuses a live session of another
  // principal (lib/store/dynamodb/session-claim.ts), so no read is needed to protect it.
  if (packet.clean || packet.clientId === '') return { core: { connect: { auth, existingSession: null } } };
  const session = await settledSession(deps, packet.clientId, record.connectionId);
  return {
    core: { connect: { auth, existingSession: session === undefined ? null : sessionSummary(session) } },
    sessionHint: session === undefined ? 'absent' : 'present',
  };
}

/** How long a CONNECT waits for the close of the connection it takes over, at most. */
export const CLOSE_WAIT_MS = 2_000;
const CLOSE_POLL_MS = 50;

/**
 * The stored session, once the connection that holds it has been handled to its end. A client
 * that sends DISCONNECT (or drops) and connects again at once has its new CONNECT on another
 * connection: another message group of the ingress queue, or another unordered invocation, which
 * can run before the old connection's last frames. When the old connection's WebSocket is gone
 * but its record is still there, those frames are on their way: the CONNECT waits for them (a
 * DISCONNECT with Session Expiry 0 must end the session before the reconnect looks at it), up to
 * CLOSE_WAIT_MS; the sweeper settles a close that never comes. A holder that is still connected
 * is taken over, as usual [MQTT-3.1.4-3]. Costs a `@connections` GET only when a session is held
 * by another connection, and a GetItem per poll only while its close is pending.
 */
async function settledSession(deps: RuntimeDeps, clientId: string, connectionId: string): Promise<SessionRecord | undefined> {
  const session = await deps.sessions.get(clientId);
  const holder = session?.connectionId;
  if (holder === undefined || holder === connectionId) return session;
  if ((await deps.delivery.info(holder)) !== undefined) return session;
  if ((await deps.connections.get(holder)) === undefined) return session;
  for (let polls = 0; polls < CLOSE_WAIT_MS / CLOSE_POLL_MS; polls++) {
    await sleep(CLOSE_POLL_MS);
    if ((await deps.connections.get(holder)) === undefined) break;
  }
  return deps.sessions.get(clientId);
}

/** Online sessions and sessions that never expire have no expiry time for the core. */
function sessionSummary(session: SessionRecord): SessionSummary {
  const principal = { principal: session.principal ?? null };
  if (session.connectionId !== undefined || session.sessionExpiryInterval === SESSION_NEVER_EXPIRES) {
    return { expiresAt: null, ...principal };
  }
  return { expiresAt: session.expiresAt * 1000, ...principal };
}
