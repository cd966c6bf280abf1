/**
 * The bridge's listeners, where stock MQTT clients connect: plain MQTT over TCP (`mqtt://`), over
 * TLS (`mqtts://`), and MQTT over WebSocket in binary frames (`ws://`, `wss://`, any path).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../log';
import { socketDownstream, webSocketDownstream, type Downstream } from './downstream';
import type { ListenTarget } from './options';

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface Listener {
  /** e.g. `mqtt://0.0.0.0:1883`, with the port actually bound */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Largest WebSocket message a client may send: several whole packets, each at most what one
 * upstream message carries (the relay refuses bigger packets anyway). Bounds the memory one
 * client can make the bridge hold.
 */
const MAX_CLIENT_MESSAGE = 1024 * 1024;

export async function startListener(
  target: ListenTarget,
  tls: TlsFiles | undefined,
  onClient: (client: Downstream) => void,
  log: Logger,
): Promise<Listener> {
  if (target.tls && !tls) throw new Error(`${target.scheme}:// needs a certificate and a key`);
  const server = createServerFor(target, tls, onClient, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(target.port, target.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error('listener error', { listener: target.scheme, error }));
  const { port } = server.address() as AddressInfo;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return {
    url: `${target.scheme}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) (server as HttpServer).closeAllConnections();
      }),
  };
}

function createServerFor(
  target: ListenTarget,
  tls: TlsFiles | undefined,
  onClient: (client: Downstream) => void,
  log: Logger,
): TcpServer | HttpServer {
  switch (target.scheme) {
    case 'mqtt':
      return createTcpServer((socket: Socket) => onClient(socketDownstream(socket, 'tcp')));
    case 'mqtts': {
      const server = createTlsServer({ cert: tls?.cert, key: tls?.key }, (socket) => onClient(socketDownstream(socket, 'tls')));
      server.on('tlsClientError', (error) => log.warn('TLS handshake with a client failed', { error }));
      return server;
    }
    case 'ws':
    case 'wss': {
      const http = target.scheme === 'wss' ? createHttpsServer({ cert: tls?.cert, key: tls?.key }) : createHttpServer();
      http.on('request', (_req, res) => {
        res.writeHead(426, { 'Content-Type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
      });
      const wss = new WebSocketServer({
        server: http,
        perMessageDeflate: false,
        maxPayload: MAX_CLIENT_MESSAGE,
        handleProtocols: chooseSubprotocol,
      });
      wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
        const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
        onClient(webSocketDownstream(ws, remote, target.scheme as 'ws' | 'wss'));
      });
      wss.on('error', (error) => log.error('WebSocket listener error', { error }));
      http.on('close', () => wss.close());
      return http;
    }
  }
}

/** The server selects `mqtt` when offered [MQTT-6.0.0-4]; `mqttv3.1` for legacy 3.1 clients. */
function chooseSubprotocol(offered: Set<string>): string | false {
  if (offered.has('mqtt')) return 'mqtt';
  if (offered.has('mqttv3.1')) return 'mqttv3.1';
  return false;
}
