/**
 * Typed errors of the client transport. Each carries a string `code`, because MQTT.js forwards a
 * stream error to the client's 'error' event only when the error has a truthy `code`; errors
 * without one are swallowed. Identify them by class or `code`, never by message text.
 */

export abstract class TransportError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An outgoing packet larger than one WebSocket message can carry (128 KB of base64 with the `ws`
 * package, one 32,000-character frame in browsers). It is dropped, never sent; the connection stays up.
 */
export class PacketTooLargeError extends TransportError {
  readonly code = 'STRATUS_PACKET_TOO_LARGE';
  /** MQTT 5 reason code 0x95, Packet too large. */
  readonly reasonCode = 0x95;

  constructor(
    /** MQTT control packet type, 1..15 (3 is PUBLISH) */
    readonly packetType: number,
    /** Size of the whole packet in bytes */
    readonly packetSize: number,
    /** Largest packet the transport can send, in bytes */
    readonly limit: number,
  ) {
    super(`MQTT packet of type ${packetType} is ${packetSize} bytes; the transport can send at most ${limit}`);
  }
}

/**
 * MQTT.js wrote bytes that are not an MQTT stream: a Remaining Length longer than 4 bytes or not
 * minimally encoded [MQTT-1.5.5-1] (MQTT 3.1.1 section 2.2.3). Fatal: the stream is destroyed.
 * The `cause` is lib/mqtt's MalformedPacketError.
 */
export class MalformedPacketError extends TransportError {
  readonly code = 'STRATUS_MALFORMED_PACKET';
  readonly reasonCode = 0x81;
}

/**
 * API Gateway's own error frame instead of the broker's data: the integration behind `$default`
 * failed for one of this connection's frames (Lambda throttled, errored or timed out; the ingress
 * queue refused the message; no route) and API Gateway answered with a JSON text frame such as
 * `{"message": "Internal server error", "connectionId": "…", "requestId": "…"}` (also seen:
 * "Forbidden", "Endpoint request timed out"). It is not MQTT and changes nothing in the stream,
 * so the connection stays up; the frame that failed was one of the client's own, and the packets
 * it carried are lost (docs/TRANSPORT.md section 4, "API Gateway's error frames", says what to
 * expect). `requestId` names the failed request in API Gateway's logs.
 */
export class GatewayErrorFrameError extends TransportError {
  readonly code = 'STRATUS_GATEWAY_ERROR_FRAME';

  constructor(
    /** API Gateway's `message`, e.g. "Internal server error"; undefined when the frame had none */
    readonly gatewayMessage: string | undefined,
    readonly requestId: string | undefined,
    /** The connection id API Gateway named, when it did */
    readonly connectionId?: string,
  ) {
    super(
      `API Gateway answered a frame with an error: ${gatewayMessage ?? '(no message)'}${requestId === undefined ? '' : ` (request ${requestId})`}`,
    );
  }

  /**
   * The error a frame's text stands for when it is API Gateway's JSON error frame (any JSON
   * object), else undefined. A base64 or tagged message never starts with '{'.
   */
  static fromText(text: string): GatewayErrorFrameError | undefined {
    if (!text.startsWith('{')) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const { message, requestId, connectionId } = body as Record<string, unknown>;
    return new GatewayErrorFrameError(bounded(message, 200), bounded(requestId, 100), bounded(connectionId, 100));
  }
}

/**
 * @deprecated since 0.2: renamed GatewayErrorFrameError (code `STRATUS_GATEWAY_ERROR_FRAME`), and
 * no longer fatal. The same class, so `instanceof IntegrationFailedError` still works.
 */
export const IntegrationFailedError = GatewayErrorFrameError;
/** @deprecated since 0.2: GatewayErrorFrameError. */
export type IntegrationFailedError = GatewayErrorFrameError;

/** A string field of the gateway's JSON, cut to `max` characters; undefined when absent or not a string. */
function bounded(value: unknown, max: number): string | undefined {
  return typeof value === 'string' ? value.slice(0, max) : undefined;
}

/** The server sent a text message that is not standard base64 with padding. Fatal. */
export class MalformedFrameError extends TransportError {
  readonly code = 'STRATUS_MALFORMED_FRAME';
}

/**
 * The server closed the WebSocket because of the framing: 1003 (a binary frame was sent) or 1009
 * (a frame or message was too big). Other close codes end the stream without an error.
 */
export class FramingRefusedError extends TransportError {
  readonly code = 'STRATUS_FRAMING_REFUSED';

  constructor(
    readonly closeCode: number,
    readonly closeReason: string,
  ) {
    super(`server closed the WebSocket with ${closeCode}${closeReason ? ` (${closeReason})` : ''}`);
  }
}

/**
 * The WebSocket failed (refused upgrade, network error). Wraps errors that have no `code`, so that
 * MQTT.js reports them; the original is the `cause`.
 */
export class WebSocketError extends TransportError {
  readonly code = 'STRATUS_WEBSOCKET_ERROR';
}
