/**
 * Builds the API Gateway WebSocket events the local gateway hands to its handlers, in the shapes
 * lib/gateway/events.ts validates (the same ones Lambda receives from AWS).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ConnectEvent, DisconnectEvent, MessageEvent } from '../gateway/events';

/** What every event of one connection shares. */
export interface ConnectionContext {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly domainName: string;
  readonly stage: string;
  readonly apiId: string;
  readonly sourceIp: string;
  readonly userAgent?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Two digits, zero-padded (module level: a closure per call showed in the connect storm's profile). */
function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** API Gateway's `requestTime`, e.g. `14/Nov/2023:22:13:20 +0000`. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** Random bytes drawn in batches: one draw per call cost a connect storm about 5 % of its CPU. */
const ID_BYTES = 11;
const POOL_IDS = 256;
let pool = Buffer.alloc(0);
let poolAt = 0;

/** An id shaped like API Gateway's (16 base64 characters, e.g. `L0SM9cOFvHcCIhw=`). */
export function newGatewayId(): string {
  if (poolAt + ID_BYTES > pool.length) {
    pool = randomBytes(ID_BYTES * POOL_IDS);
    poolAt = 0;
  }
  const id = pool.toString('base64', poolAt, poolAt + ID_BYTES);
  poolAt += ID_BYTES;
  return id;
}

export function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Where a connection was accepted: the stage, the API, and the host when the request names none. */
export interface GatewayIdentity {
  readonly stage: string;
  readonly apiId: string;
  readonly defaultHost: string;
}

/** A new connection's context, from its upgrade request. */
export function newConnectionContext(req: IncomingMessage, gateway: GatewayIdentity, now: number): ConnectionContext {
  return {
    connectionId: newGatewayId(),
    connectedAt: now,
    domainName: req.headers.host ?? gateway.defaultHost,
    stage: gateway.stage,
    apiId: gateway.apiId,
    sourceIp: sourceIpOf(req),
    userAgent: req.headers['user-agent'],
  };
}

function requestContext(context: ConnectionContext, epochMs: number) {
  const requestId = newGatewayId();
  return {
    connectionId: context.connectionId,
    requestTimeEpoch: epochMs,
    requestTime: formatRequestTime(epochMs),
    requestId,
    extendedRequestId: requestId,
    messageDirection: 'IN' as const,
    domainName: context.domainName,
    stage: context.stage,
    connectedAt: context.connectedAt,
    apiId: context.apiId,
    identity: context.userAgent === undefined
      ? { sourceIp: context.sourceIp }
      : { sourceIp: context.sourceIp, userAgent: context.userAgent },
  };
}

/** Request headers with the case the client sent, plus the X-Forwarded-* headers AWS adds. */
export function upgradeHeaders(req: IncomingMessage, sourceIp: string, localPort: number | undefined = req.socket.localPort): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    (multiValueHeaders[name] ??= []).push(req.rawHeaders[i + 1] as string);
  }
  multiValueHeaders['X-Forwarded-For'] = [sourceIp];
  multiValueHeaders['X-Forwarded-Port'] = [String(localPort ?? '')];
  multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(multiValueHeaders)) headers[name] = values[values.length - 1] as string;
  return { headers, multiValueHeaders };
}

function queryOf(url: URL): Pick<ConnectEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'> {
  const multi: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) (multi[name] ??= []).push(value);
  if (Object.keys(multi).length === 0) return {};
  const single: Record<string, string> = {};
  for (const [name, values] of Object.entries(multi)) single[name] = values[values.length - 1] as string;
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

export function connectEvent(
  context: ConnectionContext,
  req: IncomingMessage,
  url: URL,
  epochMs: number,
  /** The gateway's listening port, when known (a socket's local port costs a system call). */
  localPort?: number,
): ConnectEvent {
  return {
    ...upgradeHeaders(req, context.sourceIp, localPort ?? req.socket.localPort),
    ...queryOf(url),
    requestContext: { ...requestContext(context, epochMs), routeKey: '$connect', eventType: 'CONNECT' },
    isBase64Encoded: false,
  };
}

export function messageEvent(
  context: ConnectionContext,
  body: string,
  isBase64Encoded: boolean,
  arrivalEpochMs: number,
): MessageEvent {
  return {
    requestContext: {
      ...requestContext(context, arrivalEpochMs),
      routeKey: '$default',
      eventType: 'MESSAGE',
      messageId: newGatewayId(),
    },
    body,
    isBase64Encoded,
  };
}

export function disconnectEvent(
  context: ConnectionContext,
  statusCode: number,
  reason: string,
  epochMs: number,
): DisconnectEvent {
  const host = { Host: context.domainName, 'X-Forwarded-For': context.sourceIp };
  return {
    headers: host,
    multiValueHeaders: { Host: [host.Host], 'X-Forwarded-For': [host['X-Forwarded-For']] },
    requestContext: {
      ...requestContext(context, epochMs),
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}
