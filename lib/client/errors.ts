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
 * API Gateway's own error message instead of the broker's: the integration behind the `$default`
 * route failed (Lambda throttled, errored or timed out; the ingress queue refused the message)
 * and API Gateway sent a text message like `{"message": "Internal server error", "connectionId":
 * "…", "requestId": "…"}` (not base64). One of this connection's packets may be lost, so the
 * stream fails: MQTT.js reconnects and resends its unacknowledged QoS 1/2 messages
 * [MQTT-4.4.0-1]. `requestId` names the failed request in API Gateway's logs.
 */
export class IntegrationFailedError extends TransportError {
  readonly code = 'STRATUS_INTEGRATION_FAILED';

  constructor(
    /** API Gateway's `message`, e.g. "Internal server error" */
    readonly gatewayMessage: string,
    readonly requestId: string | undefined,
  ) {
    super(`API Gateway reported a failed integration: ${gatewayMessage}${requestId === undefined ? '' : ` (request ${requestId})`}`);
  }

  /**
   * The error a text message stands for when it is API Gateway's JSON error message, else
   * undefined. A base64 or tagged message never starts with '{'.
   */
  static fromText(text: string): IntegrationFailedError | undefined {
    if (!text.startsWith('{')) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof body !== 'object' || body === null) return undefined;
    const { message, requestId } = body as { message?: unknown; requestId?: unknown };
    if (typeof message !== 'string') return undefined;
    return new IntegrationFailedError(message.slice(0, 200), typeof requestId === 'string' ? requestId.slice(0, 100) : undefined);
  }
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
