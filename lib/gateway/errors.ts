/**
 * Typed errors of the API Gateway edge. Callers identify them by class (or `kind` where one class
 * covers several cases), never by message text. Each passes the underlying failure as `cause`.
 */

export abstract class GatewayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** An incoming Lambda event, or a handler's result, does not have the API Gateway WebSocket shape. */
export class GatewayEventError extends GatewayError {
  /** Where each problem was found, e.g. `requestContext.connectionId: expected string` */
  readonly issues: readonly string[];

  constructor(message: string, issues: readonly string[], options?: { cause?: unknown }) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message, options);
    this.issues = issues;
  }
}

/**
 * A message body that is not the wire encoding (base64 text, or binary where allowed), or
 * outgoing bytes that are not whole packets (a bug: the runtime only sends whole packets).
 */
export class FramingError extends GatewayError {
  readonly kind: 'invalid-base64' | 'binary-not-allowed' | 'not-whole-packets' | 'malformed-seq';

  constructor(kind: FramingError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** A `@connections` call failed for a reason the caller must handle (not gone, not throttled). */
export class DeliveryError extends GatewayError {
  readonly connectionId: string;

  constructor(connectionId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.connectionId = connectionId;
  }
}

/** 413 PayloadTooLargeException: one posted message was over the 128 KB message limit. */
export class PayloadTooLargeError extends DeliveryError {}

/** 403 ForbiddenException: the caller may not use this API or the connection id is malformed. */
export class ForbiddenError extends DeliveryError {}

/** 429 LimitExceededException persisted through every retry of a `close` or `info` call. */
export class ThrottledError extends DeliveryError {}

/**
 * A `@connections` call got no answer within the management client's request timeout (or could
 * not connect in time). It may have been applied: a POST may have reached the client. `posted`
 * counts the messages of the send that were answered before it (0 for `close` and `info`).
 */
export class DeliveryTimeoutError extends DeliveryError {
  readonly posted: number;

  constructor(connectionId: string, message: string, posted: number, options?: { cause?: unknown }) {
    super(connectionId, message, options);
    this.posted = posted;
  }
}
