/**
 * The `@connections` HTTP API of the local gateway, at `/{stage}/@connections/{connectionId}` on
 * the WebSocket port, answering like API Gateway so the real `ApiGatewayManagementApiClient`
 * works unchanged (its SigV4 signature is accepted whatever it is):
 * - POST: the body goes to the client as one message (text or binary per the connection's mode);
 *   over 128 KB -> 413 PayloadTooLargeException; in strict mode, over the 32 KB frame limit the
 *   connection is closed with 1009, as on AWS.
 * - GET: `{ connectedAt, lastActiveAt, identity: { sourceIp, userAgent } }` (ISO 8601), the wire
 *   names the SDK turns into ConnectedAt, LastActiveAt and Identity.
 * - DELETE: closes the socket with no close code; 204.
 * - An unknown or closed id: 410 GoneException.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloseStatus, LocalConnection } from './connection';
import { DELETED } from './connection';
import { newGatewayId } from './events';
import { FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES } from '../api-gateway';

export interface ManagementApiDeps {
  /** Strict mode: a POST over the 32 KB frame limit closes the connection, as on AWS. */
  readonly strict: boolean;
  /** The live (not closing) connection with that id. */
  find(connectionId: string): LocalConnection | undefined;
  /** Closes a connection and forgets it at once. */
  close(connection: LocalConnection, status: CloseStatus): void;
}

const FRAME_TOO_BIG: CloseStatus = { code: 1009, reason: 'Frame size limit exceeded' };

/** The connection id if the path is a `@connections` path of this stage, else undefined. */
export function connectionIdOf(url: string, stage: string): string | undefined {
  const path = url.split('?')[0] ?? '';
  const match = /^\/([^/]+)\/(?:@|%40)connections\/(.+)$/i.exec(path);
  if (match === null || match[1] !== stage) return undefined;
  try {
    return decodeURIComponent(match[2] as string);
  } catch {
    return undefined;
  }
}

/** What a `@connections` call answers: an HTTP status, a JSON body, and API Gateway's error type. */
export interface ManagementAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly errorType?: string;
}

/** The wire body of a GET: the names the SDK turns into ConnectedAt, LastActiveAt and Identity. */
export interface ConnectionDetails {
  readonly connectedAt: string;
  readonly lastActiveAt: string;
  readonly identity: { readonly sourceIp: string; readonly userAgent: string };
}

const GONE: ManagementAnswer = { status: 410, body: { message: null }, errorType: 'GoneException' };

/**
 * One `@connections` call, whatever carried it (HTTP here, or ./in-process-management.ts).
 * `body`: the POST's data, undefined when it was over the 128 KB message limit.
 */
export function manage(method: string, connectionId: string, body: Buffer | undefined, deps: ManagementApiDeps): ManagementAnswer {
  const connection = deps.find(connectionId);
  switch (method) {
    case 'POST':
      if (body === undefined) return { status: 413, body: { message: 'Request entity too large' }, errorType: 'PayloadTooLargeException' };
      if (connection === undefined) return GONE;
      if (deps.strict && body.length > FRAME_LIMIT_BYTES) deps.close(connection, FRAME_TOO_BIG);
      else connection.post(body);
      return { status: 200 };
    case 'GET': {
      if (connection === undefined) return GONE;
      const details: ConnectionDetails = {
        connectedAt: new Date(connection.context.connectedAt).toISOString(),
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
        identity: { sourceIp: connection.context.sourceIp, userAgent: connection.context.userAgent ?? '' },
      };
      return { status: 200, body: details };
    }
    case 'DELETE':
      if (connection === undefined) return GONE;
      deps.close(connection, DELETED);
      return { status: 204 };
    default:
      return { status: 405, body: { message: 'Method Not Allowed' } };
  }
}

export async function handleManagementRequest(
  req: IncomingMessage,
  res: ServerResponse,
  connectionId: string,
  deps: ManagementApiDeps,
): Promise<void> {
  const body = await readBody(req, MESSAGE_LIMIT_BYTES);
  const answer = manage(req.method ?? '', connectionId, body, deps);
  if (answer.status === 405) res.setHeader('Allow', 'GET, POST, DELETE');
  reply(res, answer.status, answer.body, answer.errorType);
}

export function reply(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
  res.statusCode = status;
  res.setHeader('x-amzn-RequestId', newGatewayId());
  if (errorType !== undefined) res.setHeader('x-amzn-ErrorType', errorType);
  if (body === undefined || status === 204) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

/** The request body, or undefined once it grows past `limit` (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}
