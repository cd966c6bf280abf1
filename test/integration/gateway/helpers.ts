/**
 * Test helpers for the local gateway: tiny handlers, a plain `ws` client, the real SDK client with
 * dummy credentials. Every gateway and client a test starts is registered here and torn down by
 * `cleanup()` in `afterEach`.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import { decodeServerMessages } from '../../../lib/client/reassembly';
import { ApiGatewayDelivery } from '../../../lib/gateway/delivery';
import type { ConnectEvent, DisconnectEvent, GatewayResult, MessageEvent } from '../../../lib/gateway/events';
import { parseConnectEvent, parseDisconnectEvent, parseMessageEvent } from '../../../lib/gateway/events';
import { decodeBody } from '../../../lib/gateway/framing';
import { acceptConnect, refuseConnect, subprotocolOf } from '../../../lib/gateway/subprotocol';
import { parseIngressEvent, type IngressRecord } from '../../../lib/gateway/ingress';
import { LocalGateway } from '../../../lib/local/gateway';
import type { SqsEvent } from '../../../lib/local/sqs-event';
import type { GatewayHandlers, LocalGatewayAddress, LocalGatewayOptions } from '../../../lib/local/gateway';
import { createLogger } from '../../../lib/log';

/** One line the gateway logged, parsed. */
export type LogEntry = Record<string, unknown> & { readonly msg: string };

const teardown: (() => Promise<void>)[] = [];

export async function cleanup(): Promise<void> {
  const steps = teardown.splice(0).reverse();
  for (const step of steps) await step().catch(() => undefined);
}

export function sdkClient(endpoint: string): ApiGatewayManagementApiClient {
  const client = new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'dummy-secret' },
    maxAttempts: 1,
  });
  teardown.push(async () => client.destroy());
  return client;
}

/** Records every event each route received, validated with the edge schemas. */
export class Recorder {
  readonly connects: ConnectEvent[] = [];
  readonly messages: MessageEvent[] = [];
  readonly disconnects: DisconnectEvent[] = [];
  /** Ordered ingress: each SQS batch as the handler received it, and its records parsed. */
  readonly batches: SqsEvent[] = [];
  readonly records: IngressRecord[] = [];
  readonly logs: LogEntry[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  notify(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `check` holds (checked after every recorded event). */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }
}

export type MessageAction = (event: MessageEvent, bytes: Uint8Array, delivery: ApiGatewayDelivery) => Promise<void>;

/** Echoes every message's bytes back through the real SDK client and the delivery adapter. */
export const echo: MessageAction = async (event, bytes, delivery) => {
  const mode = event.isBase64Encoded ? 'binary' : 'text';
  await delivery.send(event.requestContext.connectionId, bytes, mode);
};

export interface Started {
  readonly gateway: LocalGateway;
  readonly address: LocalGatewayAddress;
  readonly recorder: Recorder;
  readonly client: ApiGatewayManagementApiClient;
  readonly delivery: ApiGatewayDelivery;
  readonly goneIds: string[];
}

/**
 * Starts a gateway on a free port with handlers that accept `mqtt`/`mqttv3.1`, run `onMessage`
 * for each message and record everything. Direct ingress unless the options ask for ordered: most
 * of these tests are about the `$default` and `$disconnect` events of API Gateway's Lambda
 * integration. In ordered mode each batch is recorded and its frames echoed.
 */
export async function startGateway(
  options: LocalGatewayOptions = {},
  onMessage: MessageAction = echo,
  overrides: Partial<GatewayHandlers> = {},
): Promise<Started> {
  const recorder = new Recorder();
  const goneIds: string[] = [];
  let delivery: ApiGatewayDelivery | undefined;
  const handlers: GatewayHandlers = {
    connect: async (raw) => {
      const event = parseConnectEvent(raw);
      recorder.connects.push(event);
      recorder.notify();
      const protocol = subprotocolOf(event);
      return protocol === undefined ? refuseConnect(400) : acceptConnect(protocol);
    },
    message: async (raw): Promise<GatewayResult> => {
      const event = parseMessageEvent(raw);
      recorder.messages.push(event);
      recorder.notify();
      const bytes = decodeBody(event, { allowBinary: options.strict !== true });
      await onMessage(event, bytes, delivery as ApiGatewayDelivery);
      return { statusCode: 200 };
    },
    disconnect: async (raw) => {
      recorder.disconnects.push(parseDisconnectEvent(raw));
      recorder.notify();
      return { statusCode: 200 };
    },
    ingress: async (event) => {
      recorder.batches.push(event);
      const { records } = parseIngressEvent(event);
      for (const record of records) {
        recorder.records.push(record);
        if (record.type !== 'MESSAGE') continue;
        const mode = record.isBase64Encoded ? 'binary' : 'text';
        await (delivery as ApiGatewayDelivery).send(record.connectionId, Buffer.from(record.body, 'base64'), mode);
      }
      recorder.notify();
      return { batchItemFailures: [] };
    },
    ...overrides,
  };
  const gateway = new LocalGateway(handlers, {
    port: 0,
    log: createLogger({
      level: 'debug',
      write: (line) => {
        recorder.logs.push(JSON.parse(line) as LogEntry);
        recorder.notify();
      },
    }),
    ingress: 'direct',
    ...options,
  });
  const address = await gateway.start().catch(async (error: unknown) => {
    await gateway.stop();
    throw error;
  });
  const client = sdkClient(address.managementEndpoint);
  // Stopped before its SDK client is destroyed: the handlers still running can finish their posts.
  teardown.push(() => gateway.stop());
  delivery = new ApiGatewayDelivery({ client, onGone: (id) => void goneIds.push(id) });
  return { gateway, address, recorder, client, delivery, goneIds };
}

export interface TestClient {
  readonly ws: WebSocket;
  /** Every message received: strings for text frames, Buffers for binary frames. */
  readonly received: (string | Buffer)[];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the decoded (reassembled) bytes received reach `length`. */
  bytes(length: number): Promise<Buffer>;
}

/** Opens a plain `ws` client; rejects with the HTTP status if the handshake is refused. */
export function openClient(url: string, protocols: string | string[] | undefined = 'mqtt'): Promise<TestClient> {
  const ws = protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
  teardown.push(async () => {
    if (ws.readyState !== ws.CLOSED) ws.terminate();
  });
  const received: (string | Buffer)[] = [];
  let onData = (): void => {};
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    received.push(isBinary ? data : data.toString('utf8'));
    onData();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  // As a Stratus client reads them: untagged and binary messages appended, fragments reassembled.
  const decoded = (): Buffer => Buffer.from(decodeServerMessages(received));
  const bytes = (length: number): Promise<Buffer> =>
    new Promise((resolve) => {
      const check = (): void => {
        const all = decoded();
        if (all.length >= length) resolve(all);
      };
      onData = check;
      check();
    });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, received, closed, bytes }));
    ws.once('unexpected-response', (_req, res) => {
      reject(new HandshakeRefused(res.statusCode ?? 0));
      ws.terminate();
    });
    ws.on('error', reject); // also keeps later errors from being unhandled
  });
}

export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with ${status}`);
  }
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
