/**
 * `stratus sessions list|kick`: MQTT sessions (table `sessions`) with their live connections.
 * `kick` closes the client's WebSocket through the `@connections` DELETE of the target (on AWS the
 * stack's ManagementEndpoint; in local mode the local gateway's); the broker then runs its usual
 * disconnect path (will, session going offline), as for any connection that drops.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import type { ProtocolVersion } from '../../mqtt/types';
import type { ConnectionRecord } from '../../store/ports';
import type { SessionRecord } from '../../store/session-port';
import { action, commandGroup, finishGroup, withTargetOptions, type AdminDeps, type Open } from './context';
import { AdminFailureError, AdminInputError } from './errors';
import { parseArgument, parseOptions } from './input';
import { formatTable, isoTime, type Report } from './output';
import type { AdminStores } from './stores';

const NEVER = 0xffffffff;
/** Connection records read at once while listing */
const CONNECTION_BATCH = 25;

const ClientIdSchema = z.string().min(1, 'empty').max(65535, 'longer than 65535 characters');

const PROTOCOL_NAMES: Record<ProtocolVersion, string> = { 3: '3.1', 4: '3.1.1', 5: '5.0' };

export function registerSessionCommands(program: Command, deps: AdminDeps): void {
  const sessions = commandGroup(program, deps, 'sessions', 'inspect MQTT sessions and close live connections');

  withTargetOptions(sessions.command('list').description('list sessions: client id, connected or not, expiry'))
    .option('--connected', 'only sessions with a live connection')
    .action(action(deps, (input, context) => listSessions(input.options, deps, context.open)));

  withTargetOptions(
    sessions
      .command('kick')
      .description("close the client's live connection (the session stays, as after any disconnect)")
      .argument('<client-id>'),
  )
    .option('--management-endpoint <url>', 'local mode: the @connections endpoint (default: the running `stratus dev`)')
    .action(action(deps, (input, context) => kick(input.args[0], input.options, context.open)));

  finishGroup(sessions, deps);
}

async function listSessions(raw: Record<string, unknown>, deps: AdminDeps, open: Open): Promise<Report> {
  const options = parseOptions({ connected: z.boolean().default(false) }, raw);
  const stores = await open(options);
  const sessions = (await stores.sessions.list()).filter((s) => !options.connected || s.connectionId !== undefined);
  const connections = await connectionsOf(stores, sessions);
  const now = deps.now();
  const views = sessions.map((s) => sessionView(s, s.connectionId === undefined ? undefined : connections.get(s.connectionId)));
  return {
    json: views,
    text: formatTable(
      ['CLIENT ID', 'STATE', 'CONNECTION', 'PROTOCOL', 'USERNAME', 'EXPIRES'],
      views.map((v, i) => [
        v.clientId,
        v.connected ? 'connected' : 'offline',
        v.connectionId ?? '-',
        PROTOCOL_NAMES[v.protocolVersion],
        v.username ?? '(anonymous)',
        expiryText(sessions[i] as SessionRecord, now),
      ]),
      options.connected ? 'no connected sessions' : 'no sessions',
    ),
  };
}

/** The live connection records of the connected sessions, read a batch at a time. */
async function connectionsOf(stores: AdminStores, sessions: readonly SessionRecord[]): Promise<Map<string, ConnectionRecord>> {
  const ids = sessions.map((s) => s.connectionId).filter((id): id is string => id !== undefined);
  const found = new Map<string, ConnectionRecord>();
  for (let i = 0; i < ids.length; i += CONNECTION_BATCH) {
    const batch = ids.slice(i, i + CONNECTION_BATCH);
    const records = await Promise.all(batch.map((id) => stores.connections.get(id, { consistent: false })));
    records.forEach((record, j) => {
      if (record !== undefined) found.set(batch[j] as string, record);
    });
  }
  return found;
}

function sessionView(session: SessionRecord, connection: ConnectionRecord | undefined) {
  return {
    clientId: session.clientId,
    connected: session.connectionId !== undefined,
    connectionId: session.connectionId ?? null,
    protocolVersion: session.protocolVersion,
    // the authenticated principal that claimed the session; null: an anonymous client (whatever
    // user name its CONNECT carried, nothing vouched for it)
    username: session.principal ?? connection?.principal ?? null,
    sessionExpiryInterval: session.sessionExpiryInterval,
    /** Offline: when the session ends. Connected: the lease past the gateway's connection limit. */
    expiresAt: isoTime(session.expiresAt * 1000),
    disconnectedAt: session.disconnectedAt === undefined ? null : isoTime(session.disconnectedAt),
  };
}

/** Offline: the end of the session; connected: how long it outlives its connection. */
function expiryText(session: SessionRecord, now: number): string {
  if (session.connectionId === undefined) return isoTime(Math.max(session.expiresAt * 1000, now));
  if (session.sessionExpiryInterval === NEVER) return 'never';
  if (session.sessionExpiryInterval === 0) return 'at disconnect';
  return `${session.sessionExpiryInterval}s after disconnect`;
}

async function kick(rawClientId: unknown, raw: Record<string, unknown>, open: Open): Promise<Report> {
  const clientId = parseArgument(ClientIdSchema, rawClientId, 'CLIENT_ID');
  const options = parseOptions(
    { managementEndpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional() },
    raw,
  );
  if (options.stack !== undefined && options.managementEndpoint !== undefined) {
    throw new AdminInputError('--stack and --management-endpoint exclude each other (the stack has its own)');
  }
  const stores = await open(options);
  const session = await stores.sessions.get(clientId);
  if (session === undefined) throw new AdminFailureError(`no session for client ${clientId}`);
  const connectionId = session.connectionId;
  if (connectionId === undefined) {
    throw new AdminFailureError(`client ${clientId} has no live connection (its session is offline)`);
  }
  const outcome = await stores.disconnect(connectionId);
  if (outcome === 'gone') {
    throw new AdminFailureError(`the connection ${connectionId} of client ${clientId} is already gone`);
  }
  return {
    json: { clientId, connectionId, closed: true },
    text: `closed connection ${connectionId} of client ${clientId}`,
  };
}
