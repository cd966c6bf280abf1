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
  // With access control the session is read for Clean Start 1 too: its owner decides whether
  // this principal may take the client id over (lib/broker/connect.ts checkSessionOwner).
  const ownerCheck = auth.ok && auth.access !== undefined;
  if ((packet.clean && !ownerCheck) || packet.clientId === '') return { core: { connect: { auth, existingSession: null } } };
  const session = await deps.sessions.get(packet.clientId);
  return {
    core: { connect: { auth, existingSession: session === undefined ? null : sessionSummary(session) } },
    sessionHint: session === undefined ? 'absent' : 'present',
  };
}

/** Online sessions and sessions that never expire have no expiry time for the core. */
function sessionSummary(session: SessionRecord): SessionSummary {
  const principal = { principal: session.principal ?? null };
  if (session.connectionId !== undefined || session.sessionExpiryInterval === SESSION_NEVER_EXPIRES) {
    return { expiresAt: null, ...principal };
  }
  return { expiresAt: session.expiresAt * 1000, ...principal };
}
