/**
 * The three WebSocket route handlers, built from their dependencies. The Lambda entry points in
 * functions/ and local mode both use these, so what runs locally is what runs on AWS:
 *
 *   event → decode (lib/gateway) → core decides (lib/broker) → effects carried out (./effects)
 *
 * `$default` is the pipeline of ./message.ts; `$connect` and `$disconnect` are here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { preAuthFromAuthorizerContext } from '../auth/authorizer';
import { parseConnectEvent, parseDisconnectEvent, parseMessageEvent, type GatewayResult } from '../gateway/events';
import { acceptConnect, refuseConnect, subprotocolOf } from '../gateway/subprotocol';
import type { ConnectionRecord } from '../store/ports';
import { runDisconnectPath } from './disconnect-path';
import { handleIngress } from './ingress';
import { HandledSeqs } from './ingress-order';
import { handleMessage } from './message';
import type { RouteHandlers, RuntimeDeps } from './types';

/** API Gateway ends every connection after 2 hours; records outlive that by a margin. */
export const CONNECTION_RECORD_TTL_SECONDS = 2 * 3600 + 600;

const OK: GatewayResult = { statusCode: 200 };

export function createHandlers(deps: RuntimeDeps): RouteHandlers {
  // Kept across the batches a container handles: reorders across batches are detected with it.
  const seqs = new HandledSeqs();
  return {
    connect: (event) => instrument(deps, '$connect', () => onConnect(deps, event)),
    disconnect: (event) => instrument(deps, '$disconnect', () => onDisconnect(deps, event)),
    message: (event) => instrument(deps, '$default', () => handleMessage(deps, parseMessageEvent(event))),
    ingress: async (event) => {
      // A failure here is not one frame's (the event is not an SQS batch): the whole batch is
      // retried, and the dead-letter queue takes it in the end.
      try {
        return await handleIngress(deps, event, seqs);
      } finally {
        deps.metrics.flush();
      }
    },
  };
}

/** `$connect`: choose the subprotocol, record the connection as 'open'. */
async function onConnect(deps: RuntimeDeps, raw: unknown): Promise<GatewayResult> {
  const event = parseConnectEvent(raw);
  const { connectionId, requestTimeEpoch } = event.requestContext;
  const protocol = subprotocolOf(event);
  if (protocol === undefined) {
    deps.log.info('handshake refused: no mqtt subprotocol offered', { connectionId });
    return refuseConnect();
  }
  const now = deps.now();
  // The principal the REQUEST authorizer verified from a token (API Gateway invoked it first).
  const preAuth = preAuthFromAuthorizerContext(event.requestContext.authorizer);
  await deps.connections.open({
    connectionId,
    mode: 'text',
    connectedAt: event.requestContext.connectedAt,
    requestTimeEpoch,
    sourceIp: event.requestContext.identity.sourceIp,
    ...(preAuth === undefined ? {} : { preAuth }),
    expiresAt: Math.floor(now / 1000) + CONNECTION_RECORD_TTL_SECONDS,
  });
  deps.metrics.add('Connections');
  return acceptConnect(protocol);
}

/** `$disconnect` (best effort: the sweeper covers the ones that never arrive). */
async function onDisconnect(deps: RuntimeDeps, raw: unknown): Promise<GatewayResult> {
  const event = parseDisconnectEvent(raw);
  const { connectionId } = event.requestContext;
  const statusCode = event.requestContext.disconnectStatusCode;
  deps.log.debug('$disconnect', { connectionId, statusCode });
  deps.publishLimiter?.forget(connectionId);
  const closedAt = deps.now();
  // After a clean close the grace check has read the record already: the path reuses it.
  const clean = statusCode !== undefined && CLEAN_CLOSE_CODES.has(statusCode);
  const record = clean ? await graceForDisconnect(deps, connectionId) : undefined;
  // A DISCONNECT ran the disconnect path already (lib/runtime/message.ts): nothing is left.
  if (clean && record === undefined) return OK;
  await runDisconnectPath(deps, connectionId, 'client-closed', record, closedAt);
  return OK;
}

/** WebSocket close codes of a clean close: what a client sends after its MQTT DISCONNECT. */
const CLEAN_CLOSE_CODES = new Set([1000, 1005]);

/**
 * How long `$disconnect` waits, after a clean close of a connection with a will, before it releases
 * the session. A client sends DISCONNECT and closes at once, and API Gateway does not order the two
 * invocations: without the wait, a `$disconnect` that overtakes the DISCONNECT would publish a will
 * the client had cancelled [MQTT-3.14.4-3]. Costs about $5 per million such closes (docs/COST.md).
 */
export const DISCONNECT_GRACE_MS = 1500;

/**
 * Waits when a DISCONNECT still in flight could matter, and returns the connection record it read
 * (a DISCONNECT changes the session item, never this record, so it stays valid after the wait).
 */
async function graceForDisconnect(deps: RuntimeDeps, connectionId: string): Promise<ConnectionRecord | undefined> {
  const record = await deps.connections.get(connectionId);
  // What a DISCONNECT still in flight could change: discard the will, or (v5) set the session
  // expiry. Without either there is nothing to wait for.
  const v5Session = record?.protocolVersion === 5 && (record.sessionExpiryInterval ?? 0) > 0;
  if (record?.hasWill === true || v5Session) await sleep(DISCONNECT_GRACE_MS);
  return record;
}

/** Logs a handler failure as one structured line and flushes metrics; never throws past the edge. */
async function instrument(deps: RuntimeDeps, route: string, run: () => Promise<GatewayResult>): Promise<GatewayResult> {
  try {
    return await run();
  } catch (err) {
    deps.log.error('handler failed', { route, error: err });
    return { statusCode: 500 };
  } finally {
    deps.metrics.flush();
  }
}
