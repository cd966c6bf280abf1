/**
 * The local gateway: a WebSocket server that behaves like an API Gateway WebSocket API, so the
 * same handlers run in-process in local mode and in tests.
 *
 * - Upgrade: builds the `$connect` event from the HTTP upgrade request, runs the optional REQUEST
 *   authorizer (see authorizer.ts: a refusal answers 401/403/500 before `$connect`), and calls
 *   `connect`; the upgrade completes only when it returns. Non-2xx refuses the handshake with that
 *   status; 2xx completes it, echoing `Sec-WebSocket-Protocol` (and any other header) from the
 *   result.
 * - Ordered ingress (the default, see ordered-ingress.ts): each incoming message becomes a message
 *   of the connection's group in an emulated SQS FIFO queue, and a close from either side a
 *   DISCONNECT message behind them (unless `dropDisconnectRate` drops it); a bounded pool of
 *   consumers calls `ingress` with SQS batches, as Lambda's event source mapping does.
 * - Direct ingress: each incoming message becomes a `$default` event (`requestTimeEpoch` =
 *   arrival), and a close calls `disconnect` (unless dropped). Handlers run concurrently with no
 *   per-connection ordering, as on AWS. Handler errors are logged, never thrown.
 * - `@connections` is served on the same port under `/{stage}` (see management-api.ts).
 * - Strict mode (see options.ts) enforces API Gateway's frame rules; both modes apply the idle
 *   timeout and the maximum connection duration.
 * - Lenient mode also accepts binary frames, gathered into whole MQTT packets per connection
 *   before they become `$default` events (`isBase64Encoded: true`), and answers them in binary.
 * - Tests can make it answer chosen frames with API Gateway's JSON error frame instead of handing
 *   them on, as when the integration fails (`errorFrames`, see error-frames.ts).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { ConnectEvent, DisconnectEvent, GatewayResult, MessageEvent } from '../gateway/events';
import { parseGatewayResult } from '../gateway/events';
import { authorizeConnect } from './authorizer';
import type { CloseStatus } from './connection';
import { GOING_AWAY, LocalConnection } from './connection';
import type { ConnectionContext } from './events';
import { connectEvent, disconnectEvent, messageEvent, newConnectionContext } from './events';
import { ErrorFrameInjector } from './error-frames';
import { FrameMonitor } from './frame-monitor';
import type { DeadLetter } from './ingress-queue';
import { OrderedIngress } from './ordered-ingress';
import type { SqsBatchResponse, SqsEvent } from './sqs-event';
import type { ManagementClient } from '../gateway/delivery';
import { inProcessManagementClient } from './in-process-management';
import { connectionIdOf, handleManagementRequest, reply, type ManagementApiDeps } from './management-api';
import { chosenProtocol, closedOrTerminated, extraHeaderLines, isWebSocketUpgrade, refuseUpgrade, toBuffer } from './sockets';
import { errorFields, localGatewayOptionsSchema, stderrLogger } from './options';
import type { LocalAuthorizer, LocalGatewayConfig, LocalGatewayOptions } from './options';
import { FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES } from '../api-gateway';
import type { Logger } from '../log';
import { queuedCloseMessage, type QueuedCloseCause } from '../ingress-wire';

export type { LocalAuthorizer, LocalGatewayOptions } from './options';

/** The integrations behind the routes, with Lambda's event and result shapes. */
export interface GatewayHandlers {
  connect(event: ConnectEvent): Promise<GatewayResult>;
  /** Direct ingress. */
  message(event: MessageEvent): Promise<GatewayResult | void>;
  /** Direct ingress. */
  disconnect(event: DisconnectEvent): Promise<GatewayResult | void>;
  /** Ordered ingress: a batch of the queue; the answer is read as ReportBatchItemFailures. */
  ingress(event: SqsEvent): Promise<SqsBatchResponse | void>;
}

export interface LocalGatewayAddress {
  /** e.g. `ws://127.0.0.1:8083/mqtt` */
  readonly url: string;
  /** e.g. `http://127.0.0.1:8083/mqtt`: the SDK client's `endpoint` */
  readonly managementEndpoint: string;
  readonly port: number;
}

type Route = 'connect' | 'message' | 'disconnect';

/** A data frame that came after its connection was closed by the gateway. */
export interface DroppedFrame {
  readonly connectionId: string;
  /** The User-Agent of the connection's upgrade request. */
  readonly userAgent?: string;
  /** Epoch ms. */
  readonly at: number;
  /** A text frame's content, when at most MAX_KEPT_TEXT bytes (a DISCONNECT is a few). */
  readonly text?: string;
}

const MAX_LATE_FRAMES = 10_000;
const MAX_KEPT_TEXT = 256;

/** How long `stop()` lets the ingress queue drain: bounded, as Ctrl-C stops DynamoDB Local at once. */
const STOP_DRAIN_MS = 3_000;

/** Lenient mode's message limit: the largest MQTT packet (256 MB) plus its fixed header. */
const LENIENT_MAX_MESSAGE_BYTES = 268_435_455 + 5;

export class LocalGateway {
  private readonly config: LocalGatewayConfig;
  private readonly log: Logger;
  private readonly authorizer: LocalAuthorizer | undefined;
  private readonly connections = new Map<string, LocalConnection>();
  private readonly sockets = new Set<WebSocket>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly accepted = new WeakMap<IncomingMessage, GatewayResult>();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  /** The ingress queue and its consumers, in ordered mode. */
  private readonly ordered: OrderedIngress | undefined;
  private readonly random: () => number;
  private dropped = 0;
  /** Client frames to answer with API Gateway's error frame instead of a handler (tests). */
  readonly errorFrames = new ErrorFrameInjector();
  /** The port once listening: read once, not per upgrade (a system call each). */
  private listeningPort: number | undefined;
  /** The latest frames that arrived after the gateway had closed their connection (bounded). */
  private readonly lateFrames: DroppedFrame[] = [];
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly handlers: GatewayHandlers,
    options: LocalGatewayOptions = {},
  ) {
    const { log, authorizer, random, ...rest } = options;
    this.config = localGatewayOptionsSchema.parse(rest);
    this.random = random ?? Math.random;
    this.log = log ?? stderrLogger;
    this.authorizer = authorizer;
    this.ordered = this.config.ingress === 'ordered' ? new OrderedIngress((event) => this.handlers.ingress(event), this.config, this.log) : undefined;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: this.config.strict ? MESSAGE_LIMIT_BYTES : LENIENT_MAX_MESSAGE_BYTES,
      handleProtocols: (_offered, req) => chosenProtocol(this.accepted.get(req)?.headers ?? {}),
    });
    this.wss.on('headers', (lines, req) => lines.push(...extraHeaderLines(this.accepted.get(req)?.headers ?? {})));
    // The handlers' SDK clients keep `@connections` sockets alive with no idle limit of their
    // own (Node 20's agent ignores the server's Keep-Alive hint then), so a server that closes
    // idle sockets after Node's default 5 s races their reuse: an occasional ECONNRESET on a
    // post, which under load loses a reply. Idle sockets stay open; `stop()` closes them.
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 0;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.onUpgrade(req, socket, head).catch((error: unknown) => {
        this.log.error('upgrade failed', errorFields(error));
        socket.destroy();
      });
    });
  }

  async start(): Promise<LocalGatewayAddress> {
    if (this.state !== 'idle') throw new Error(`cannot start a gateway that is ${this.state}`);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.state = 'running';
    const { port } = this.server.address() as AddressInfo;
    this.listeningPort = port;
    const authority = `${this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host}:${port}`;
    const address = {
      url: `ws://${authority}/${this.config.stage}`,
      managementEndpoint: `http://${authority}/${this.config.stage}`,
      port,
    };
    this.log.info('local gateway listening', { ...address, strict: this.config.strict, ingress: this.config.ingress });
    return address;
  }

  /**
   * Closes every socket (1001), lets the ingress queue drain (the closes included), closes the
   * server, and waits for the handlers already started.
   */
  stop(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** Ids of the open connections. */
  connectionIds(): string[] {
    return [...this.connections.keys()];
  }

  /** Ordered ingress: frames written to the queue swapped with their connection's next (`swapFraction`). */
  ingressSwaps(): number {
    return this.ordered?.swaps ?? 0;
  }

  /** How frames and closes reach the handlers ('ordered': through the queue). */
  get ingress(): 'ordered' | 'direct' {
    return this.config.ingress;
  }

  /**
   * Ordered ingress: the runtime's SendMessage of a close it found (RuntimeDeps `queueClose`):
   * into the connection's group, behind its frames.
   */
  queueClose(connectionId: string, cause: QueuedCloseCause, epochMs: number, clientId?: string): void {
    if (this.ordered === undefined) throw new Error('no ingress queue: the gateway runs direct ingress');
    this.ordered.queuedClose(queuedCloseMessage(connectionId, cause, epochMs, clientId));
  }

  /** The `@connections` API called in this process, without HTTP (./in-process-management.ts). */
  managementClient(): ManagementClient {
    return inProcessManagementClient(this.management);
  }

  /** What the `@connections` API acts on, over HTTP or in process. */
  private get management(): ManagementApiDeps {
    return {
      strict: this.config.strict,
      find: (id) => this.connections.get(id),
      close: (connection, status) => this.closeConnection(connection, status),
    };
  }

  /** Ordered ingress: resolves once the queue has no message waiting or in flight (direct: at once). */
  ingressDrained(): Promise<void> {
    return this.ordered?.drained() ?? Promise.resolve();
  }

  /** `$disconnect` events dropped so far (`dropDisconnectRate`). */
  droppedDisconnects(): number {
    return this.dropped;
  }

  /**
   * Data frames that arrived after the gateway had started closing their connection (an
   * `@connections` DELETE, a timeout, a violation), the latest MAX_LATE_FRAMES: they reach no
   * handler, as on API Gateway, so a DISCONNECT among them was never received [MQTT-3.1.2-8].
   */
  framesDroppedAfterClose(): readonly DroppedFrame[] {
    return this.lateFrames;
  }

  /** Ordered ingress: the messages the queue moved to its dead-letter list (none in direct mode). */
  deadLetters(): readonly DeadLetter[] {
    return this.ordered?.deadLetters() ?? [];
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopping';
    for (const connection of this.connections.values()) this.closeConnection(connection, GOING_AWAY);
    await Promise.all([...this.sockets].map((ws) => closedOrTerminated(ws)));
    // The closes go through the queue, and their handlers may post: before the server closes.
    await this.ordered?.stop(STOP_DRAIN_MS);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.wss.close();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.state = 'stopped';
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const connectionId = connectionIdOf(req.url ?? '/', this.config.stage);
    if (connectionId === undefined) {
      const isStage = (req.url ?? '').split('?')[0] === `/${this.config.stage}`;
      reply(res, isStage ? 426 : 404, { message: isStage ? 'Upgrade Required' : 'Not Found' });
      return;
    }
    handleManagementRequest(req, res, connectionId, this.management).catch((error: unknown) => {
      this.log.error('@connections request failed', { connectionId, ...errorFields(error) });
      if (!res.headersSent) reply(res, 500, { message: 'Internal server error' });
    });
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', (error) => this.log.warn('socket error', errorFields(error)));
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== `/${this.config.stage}`) return refuseUpgrade(socket, 404);
    if (!isWebSocketUpgrade(req)) return refuseUpgrade(socket, 400);
    if (this.state !== 'running') return refuseUpgrade(socket, 503);

    const now = Date.now();
    const port = this.listeningPort ?? (this.server.address() as AddressInfo).port;
    const context = newConnectionContext(req, { ...this.config, defaultHost: `${this.config.host}:${port}` }, now);
    const verdict = await this.track(authorizeConnect(this.authorizer, connectEvent(context, req, url, now, port), this.config, this.log));
    if (socket.destroyed || this.state !== 'running') return void socket.destroy();
    if ('status' in verdict) return refuseUpgrade(socket, verdict.status);
    const { event } = verdict;
    const result = await this.dispatch('connect', context.connectionId, () => this.handlers.connect(event));
    if (socket.destroyed || this.state !== 'running') return void socket.destroy();
    if (result === undefined) return refuseUpgrade(socket, 500, 'Internal server error');
    if (result.statusCode < 200 || result.statusCode > 299) {
      return refuseUpgrade(socket, result.statusCode, result.body);
    }
    this.accepted.set(req, result);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onOpen(ws, socket, context));
  }

  private onOpen(ws: WebSocket, socket: Duplex, context: ConnectionContext): void {
    const connection = new LocalConnection(context, ws, this.config, (c, status) => this.closeConnection(c, status));
    this.connections.set(connection.id, connection);
    this.sockets.add(ws);
    if (this.config.strict) {
      const monitor = new FrameMonitor(
        { frameBytes: FRAME_LIMIT_BYTES, messageBytes: MESSAGE_LIMIT_BYTES, allowBinary: false },
        (violation) => this.closeConnection(connection, violation),
      );
      // Before ws's own listener, so a violation is known before ws emits the message.
      socket.prependListener('data', (chunk: Buffer) => monitor.push(chunk));
    }
    ws.on('message', (data, isBinary) => this.onMessage(connection, data, isBinary));
    ws.on('error', (error) => this.log.warn('websocket error', { connectionId: connection.id, ...errorFields(error) }));
    ws.on('close', (code, reason) => this.onClose(connection, code, reason.toString('utf8')));
  }

  private onMessage(connection: LocalConnection, data: RawData, isBinary: boolean): void {
    const arrival = Date.now();
    if (connection.isClosing) {
      const bytes = toBuffer(data);
      const text = !isBinary && bytes.length <= MAX_KEPT_TEXT ? bytes.toString('utf8') : undefined;
      this.lateFrames.push({ connectionId: connection.id, userAgent: connection.context.userAgent, at: arrival, ...(text !== undefined ? { text } : {}) });
      if (this.lateFrames.length > MAX_LATE_FRAMES) this.lateFrames.shift();
      this.log.info('frame after the connection was closed: dropped', { connectionId: connection.id });
      return;
    }
    if (isBinary && this.config.strict) {
      this.closeConnection(connection, { code: 1003, reason: 'Binary frames are not supported' });
      return;
    }
    const body = connection.received(toBuffer(data), isBinary);
    if (body === undefined) return;
    const failed = this.errorFrames.answer({ connectionId: connection.id, body, isBinary });
    if (failed !== undefined) return void connection.ws.send(failed);
    if (this.ordered !== undefined) return this.ordered.frame(connection.context, body, isBinary, arrival);
    const event = messageEvent(connection.context, body, isBinary, arrival);
    void this.dispatch('message', connection.id, () => this.handlers.message(event));
  }

  private onClose(connection: LocalConnection, code: number, reason: string): void {
    connection.dispose();
    this.connections.delete(connection.id);
    this.sockets.delete(connection.ws);
    const status = connection.closeStatus(code, reason);
    if (this.config.dropDisconnectRate > 0 && this.random() < this.config.dropDisconnectRate) {
      this.dropped += 1;
      this.log.info('$disconnect dropped', { connectionId: connection.id, ...status });
      return;
    }
    if (this.ordered !== undefined) return this.ordered.close(connection.context, status.code, Date.now());
    const event = disconnectEvent(connection.context, status.code, status.reason, Date.now());
    void this.dispatch('disconnect', connection.id, () => this.handlers.disconnect(event));
  }

  /** Forgets the connection at once (so `@connections` answers 410) and closes its socket. */
  private closeConnection(connection: LocalConnection, status: CloseStatus): void {
    this.connections.delete(connection.id);
    connection.close(status);
  }

  /** Tracks a promise so `stop()` waits for it. */
  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  /**
   * Calls a handler after the optional jitter; validates its result; logs and swallows its
   * failure (answering undefined). Tracked so `stop()` can wait for it.
   */
  private dispatch(
    route: Route,
    connectionId: string,
    call: () => Promise<GatewayResult | void>,
  ): Promise<GatewayResult | undefined> {
    const run = (async () => {
      if (this.config.jitterMs > 0) await sleep(this.random() * this.config.jitterMs);
      const raw = await call();
      return route === 'connect' || raw !== undefined ? parseGatewayResult(raw) : undefined;
    })().catch((error: unknown) => {
      this.log.error('handler failed', { route, connectionId, ...errorFields(error) });
      return undefined;
    });
    return this.track(run);
  }
}
