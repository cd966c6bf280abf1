/**
 * The API Gateway WebSocket events a Lambda integration receives, and the result it returns, as
 * AWS shapes them (Lambda proxy integration). Events are validated here, at the edge, so nothing
 * past the `functions/` entry points ever sees an unchecked event. These types stay in the gateway
 * layer: the broker core receives connection ids and bytes, never an AWS event.
 *
 * Shapes:
 * - `$connect`   (eventType CONNECT): the HTTP upgrade request: `headers`, `multiValueHeaders`,
 *   `queryStringParameters`, `multiValueQueryStringParameters`; no body.
 * - `$default`   (eventType MESSAGE): `body` (the frame's text) and `isBase64Encoded`;
 *   `requestContext.messageId`.
 * - `$disconnect` (eventType DISCONNECT): `requestContext.disconnectStatusCode` and
 *   `disconnectReason`; headers as AWS sends them.
 */
import { z } from 'zod';
import { GatewayEventError } from './errors';

const stringMap = z.record(z.string(), z.string());
const multiStringMap = z.record(z.string(), z.array(z.string()));

const identitySchema = z.object({
  sourceIp: z.string(),
  userAgent: z.string().optional(),
});

const requestContextBase = {
  connectionId: z.string().min(1),
  requestTimeEpoch: z.number().int().nonnegative(),
  requestTime: z.string().optional(),
  requestId: z.string().optional(),
  extendedRequestId: z.string().optional(),
  messageDirection: z.literal('IN').optional(),
  domainName: z.string().min(1),
  stage: z.string().min(1),
  connectedAt: z.number().int().nonnegative(),
  apiId: z.string().min(1),
  identity: identitySchema,
};

export const connectEventSchema = z.object({
  requestContext: z.object({
    ...requestContextBase,
    routeKey: z.literal('$connect'),
    eventType: z.literal('CONNECT'),
  }),
  headers: stringMap.nullish(),
  multiValueHeaders: multiStringMap.nullish(),
  queryStringParameters: stringMap.nullish(),
  multiValueQueryStringParameters: multiStringMap.nullish(),
  isBase64Encoded: z.boolean().optional(),
});

export const messageEventSchema = z.object({
  requestContext: z.object({
    ...requestContextBase,
    routeKey: z.literal('$default'),
    eventType: z.literal('MESSAGE'),
    messageId: z.string().min(1),
  }),
  body: z.string(),
  isBase64Encoded: z.boolean(),
});

export const disconnectEventSchema = z.object({
  requestContext: z.object({
    ...requestContextBase,
    routeKey: z.literal('$disconnect'),
    eventType: z.literal('DISCONNECT'),
    disconnectStatusCode: z.number().int().optional(),
    disconnectReason: z.string().optional(),
  }),
  headers: stringMap.nullish(),
  multiValueHeaders: multiStringMap.nullish(),
  isBase64Encoded: z.boolean().optional(),
});

/** What an integration returns for any route; on `$connect` a non-2xx status refuses the upgrade. */
export const gatewayResultSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: stringMap.optional(),
  body: z.string().optional(),
});

export type ConnectEvent = z.infer<typeof connectEventSchema>;
export type MessageEvent = z.infer<typeof messageEventSchema>;
export type DisconnectEvent = z.infer<typeof disconnectEventSchema>;
export type WebSocketEvent = ConnectEvent | MessageEvent | DisconnectEvent;
export type GatewayResult = z.infer<typeof gatewayResultSchema>;
export type RouteKey = WebSocketEvent['requestContext']['routeKey'];

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new GatewayEventError(`not a valid ${what}`, issues, { cause: parsed.error });
}

/** Validates a `$connect` event; throws GatewayEventError otherwise. */
export function parseConnectEvent(raw: unknown): ConnectEvent {
  return parseWith(connectEventSchema, raw, '$connect event');
}

/** Validates a `$default` event; throws GatewayEventError otherwise. */
export function parseMessageEvent(raw: unknown): MessageEvent {
  return parseWith(messageEventSchema, raw, '$default event');
}

/** Validates a `$disconnect` event; throws GatewayEventError otherwise. */
export function parseDisconnectEvent(raw: unknown): DisconnectEvent {
  return parseWith(disconnectEventSchema, raw, '$disconnect event');
}

/** Validates any of the three events, chosen by `requestContext.eventType`. */
export function parseWebSocketEvent(raw: unknown): WebSocketEvent {
  const eventType = eventTypeOf(raw);
  switch (eventType) {
    case 'CONNECT':
      return parseConnectEvent(raw);
    case 'MESSAGE':
      return parseMessageEvent(raw);
    case 'DISCONNECT':
      return parseDisconnectEvent(raw);
    default:
      throw new GatewayEventError('not an API Gateway WebSocket event', [
        `requestContext.eventType: expected CONNECT, MESSAGE or DISCONNECT`,
      ]);
  }
}

/** Validates an integration result (the local gateway checks every handler's answer). */
export function parseGatewayResult(raw: unknown): GatewayResult {
  return parseWith(gatewayResultSchema, raw, 'integration result');
}

function eventTypeOf(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const context = (raw as { requestContext?: unknown }).requestContext;
  if (typeof context !== 'object' || context === null) return undefined;
  return (context as { eventType?: unknown }).eventType;
}

/**
 * A request header by name, case-insensitively (API Gateway keeps the case the client sent).
 * Repeated headers are joined with ", " as HTTP allows.
 */
export function headerValue(
  event: Pick<ConnectEvent, 'headers' | 'multiValueHeaders'>,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted && values.length > 0) return values.join(', ');
  }
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
