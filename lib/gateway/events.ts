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
 * - The Lambda REQUEST authorizer of `$connect`: its event (`type: 'REQUEST'`, `methodArn`, the
 *   upgrade's headers and query string) and its result (principal, IAM policy, scalar context);
 *   an Allow's principal and context reach `$connect` in `requestContext.authorizer`. How API
 *   Gateway builds that event and evaluates that policy is emulated in lib/local/authorizer.ts.
 */
import * as z from '../zod-mini';
import { GatewayEventError } from './errors';

const stringMap = z.record(z.string(), z.string());
const multiStringMap = z.record(z.string(), z.array(z.string()));
const nonEmpty = () => z.string().check(z.minLength(1));
const nonNegativeInteger = () => z.number().check(z.int(), z.nonnegative());

const identitySchema = z.object({
  sourceIp: z.string(),
  userAgent: z.optional(z.string()),
});

const requestContextBase = {
  connectionId: nonEmpty(),
  requestTimeEpoch: nonNegativeInteger(),
  requestTime: z.optional(z.string()),
  requestId: z.optional(z.string()),
  extendedRequestId: z.optional(z.string()),
  messageDirection: z.optional(z.literal('IN')),
  domainName: nonEmpty(),
  stage: nonEmpty(),
  connectedAt: nonNegativeInteger(),
  apiId: nonEmpty(),
  identity: identitySchema,
};

/**
 * What the `$connect` integration receives in `requestContext.authorizer` when a Lambda REQUEST
 * authorizer allowed the request: `principalId`, the authorizer's `context` keys flattened beside
 * it, and API Gateway's own `integrationLatency`. Values are scalars (the authorizer may not
 * return objects or arrays there); lib/auth/authorizer.ts reads its own keys back.
 */
export const connectAuthorizerSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

export const connectEventSchema = z.object({
  requestContext: z.object({
    ...requestContextBase,
    routeKey: z.literal('$connect'),
    eventType: z.literal('CONNECT'),
    authorizer: z.optional(connectAuthorizerSchema),
  }),
  headers: z.nullish(stringMap),
  multiValueHeaders: z.nullish(multiStringMap),
  queryStringParameters: z.nullish(stringMap),
  multiValueQueryStringParameters: z.nullish(multiStringMap),
  isBase64Encoded: z.optional(z.boolean()),
});

export const messageEventSchema = z.object({
  requestContext: z.object({
    ...requestContextBase,
    routeKey: z.literal('$default'),
    eventType: z.literal('MESSAGE'),
    messageId: nonEmpty(),
  }),
  body: z.string(),
  isBase64Encoded: z.boolean(),
});

export const disconnectEventSchema = z.object({
  requestContext: z.object({
    ...requestContextBase,
    routeKey: z.literal('$disconnect'),
    eventType: z.literal('DISCONNECT'),
    disconnectStatusCode: z.optional(z.number().check(z.int())),
    disconnectReason: z.optional(z.string()),
  }),
  headers: z.nullish(stringMap),
  multiValueHeaders: z.nullish(multiStringMap),
  isBase64Encoded: z.optional(z.boolean()),
});

/**
 * The Lambda REQUEST authorizer's input on `$connect` (the only route that can have one): the
 * upgrade request's headers and query string, `methodArn` =
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`, and the `$connect`
 * request context. No body, no path parameters.
 */
export const authorizerEventSchema = z.object({
  type: z.literal('REQUEST'),
  methodArn: nonEmpty(),
  headers: z.nullish(stringMap),
  multiValueHeaders: z.nullish(multiStringMap),
  queryStringParameters: z.nullish(stringMap),
  multiValueQueryStringParameters: z.nullish(multiStringMap),
  stageVariables: z.nullish(stringMap),
  requestContext: z.object({
    ...requestContextBase,
    routeKey: z.literal('$connect'),
    eventType: z.literal('CONNECT'),
  }),
});

const policyStatementSchema = z.object({
  Action: z.union([z.string(), z.array(z.string())]),
  Effect: z.enum(['Allow', 'Deny']),
  Resource: z.union([z.string(), z.array(z.string())]),
});

/**
 * The authorizer's answer: an IAM policy on `execute-api:Invoke`, the principal id, and an
 * optional context of scalars (API Gateway refuses objects and arrays there; the whole result is
 * at most 8 KB for WebSocket APIs).
 */
export const authorizerResultSchema = z.object({
  principalId: nonEmpty(),
  policyDocument: z.object({
    Version: z.string(),
    Statement: z.array(policyStatementSchema).check(z.minLength(1)),
  }),
  context: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
});

/** What an integration returns for any route; on `$connect` a non-2xx status refuses the upgrade. */
export const gatewayResultSchema = z.object({
  statusCode: z.integer(100, 599),
  headers: z.optional(stringMap),
  body: z.optional(z.string()),
});

export type ConnectEvent = z.infer<typeof connectEventSchema>;
export type MessageEvent = z.infer<typeof messageEventSchema>;
export type DisconnectEvent = z.infer<typeof disconnectEventSchema>;
export type WebSocketEvent = ConnectEvent | MessageEvent | DisconnectEvent;
export type GatewayResult = z.infer<typeof gatewayResultSchema>;
export type ConnectAuthorizer = z.infer<typeof connectAuthorizerSchema>;
export type AuthorizerEvent = z.infer<typeof authorizerEventSchema>;
export type AuthorizerResult = z.infer<typeof authorizerResultSchema>;
export type PolicyStatement = z.infer<typeof policyStatementSchema>;
export type RouteKey = WebSocketEvent['requestContext']['routeKey'];

function parseWith<T>(schema: z.ZodMiniType<T>, raw: unknown, what: string): T {
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

/** Validates a REQUEST authorizer event; throws GatewayEventError otherwise. */
export function parseAuthorizerEvent(raw: unknown): AuthorizerEvent {
  return parseWith(authorizerEventSchema, raw, 'REQUEST authorizer event');
}

/** Validates an authorizer's answer (a malformed one is a 500 on API Gateway). */
export function parseAuthorizerResult(raw: unknown): AuthorizerResult {
  return parseWith(authorizerResultSchema, raw, 'authorizer result');
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
