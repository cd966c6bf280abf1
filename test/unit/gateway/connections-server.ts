/**
 * A small `@connections` HTTP server on 127.0.0.1 for the real SDK client: it answers each request
 * as the test says (a status, or never), with API Gateway's error shapes (`x-amzn-errortype`), and
 * records what it got. Stopped by the test (`close`), open sockets included.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly connectionId: string;
  readonly body: string;
}

/** How to answer one request: an HTTP status, or 'hang' (never answer). */
export type Answer = number | 'hang';

export interface ConnectionsServer {
  /** The management endpoint: `http://127.0.0.1:<port>/mqtt`. */
  readonly endpoint: string;
  readonly requests: ReceivedRequest[];
  /** Resolves once `count` requests have arrived. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = { 410: 'GoneException', 429: 'LimitExceededException', 403: 'ForbiddenException' };

export async function startConnectionsServer(answer: (request: ReceivedRequest) => Answer): Promise<ConnectionsServer> {
  const requests: ReceivedRequest[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/mqtt\/@connections\/([^/?]+)/.exec(req.url ?? '');
      const request = { method: req.method ?? '', connectionId: decodeURIComponent(match?.[1] ?? ''), body: Buffer.concat(chunks).toString() };
      requests.push(request);
      waiters = waiters.filter((w) => (requests.length >= w.count ? (w.resolve(), false) : true));
      const status = answer(request);
      if (status === 'hang') return;
      const type = ERROR_TYPES[status];
      res.writeHead(status, { 'content-type': 'application/json', ...(type === undefined ? {} : { 'x-amzn-errortype': type }) });
      res.end(status < 300 ? '' : JSON.stringify({ message: null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/mqtt`,
    requests,
    received: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
