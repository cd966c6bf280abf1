/**
 * The wire contract of the ordered ingress queue (docs/ARCHITECTURE.md "Ordered ingress"): what
 * API Gateway's request template writes into each SQS FIFO message, and what the consumer reads
 * back. A leaf module: the CDK construct renders the templates from it, the runtime parses with
 * it, and the local gateway writes the same messages.
 *
 * One SQS message per WebSocket frame (MESSAGE) or close (DISCONNECT) of a connection:
 * - MessageGroupId: the connection id, so one connection's frames are handled one at a time, in
 *   arrival order; MessageDeduplicationId: the request id (never content-based deduplication:
 *   every PINGREQ is the same bytes).
 * - Body: the frame's text as the client sent it (base64 MQTT), URL-encoded in the request; a
 *   DISCONNECT carries `DISCONNECT_BODY` (SQS refuses an empty body).
 * - Message attributes, all of type String: the event type, the gateway's arrival time, and for a
 *   DISCONNECT its WebSocket close code when API Gateway knows one.
 */

export const INGRESS_ATTRIBUTES = {
  eventType: 'stratusEventType',
  requestTimeEpoch: 'stratusRequestTimeEpoch',
  disconnectStatusCode: 'stratusDisconnectStatusCode',
  /** Local lenient mode only: the body is the base64 of a binary frame. */
  binary: 'stratusBinary',
  /**
   * A close the broker queued itself (`queuedClose`): why it found the connection closed. API
   * Gateway's `$disconnect` never sets it.
   */
  closeCause: 'stratusCloseCause',
  /**
   * A close queued by a takeover (`taken-over`): the client id whose session holds the
   * connection's will, so that the close can settle it even once the connection's record is gone.
   */
  clientId: 'stratusClientId',
} as const;

export type IngressEventType = 'MESSAGE' | 'DISCONNECT';

export const DISCONNECT_BODY = 'DISCONNECT';

/** The close code attribute is `code:1000`, or `code:` when API Gateway knows none. */
export const STATUS_CODE_PREFIX = 'code:';

/**
 * The request template (VTL) of an API Gateway AWS integration to `SendMessage` for a route:
 * `$default` sends MESSAGE, `$disconnect` sends DISCONNECT. Sent as
 * `application/x-www-form-urlencoded`; every value taken from the request is URL-encoded (base64
 * contains `+` and `/`).
 */
export function sendMessageTemplate(eventType: IngressEventType): string {
  const body = eventType === 'MESSAGE' ? '$util.urlEncode($input.body)' : DISCONNECT_BODY;
  const attributes: [string, string][] = [
    [INGRESS_ATTRIBUTES.eventType, eventType],
    [INGRESS_ATTRIBUTES.requestTimeEpoch, '$context.requestTimeEpoch'],
  ];
  // Prefixed: API Gateway may not know a close code, and SQS refuses an empty attribute value.
  if (eventType === 'DISCONNECT') attributes.push([INGRESS_ATTRIBUTES.disconnectStatusCode, `${STATUS_CODE_PREFIX}$context.disconnectStatusCode`]);
  const params = [
    'Action=SendMessage',
    'MessageGroupId=$util.urlEncode($context.connectionId)',
    'MessageDeduplicationId=$util.urlEncode($context.requestId)',
    `MessageBody=${body}`,
    ...attributes.flatMap(([name, value], i) => [
      `MessageAttribute.${i + 1}.Name=${name}`,
      `MessageAttribute.${i + 1}.Value.DataType=String`,
      `MessageAttribute.${i + 1}.Value.StringValue=${value}`,
    ]),
  ];
  return params.join('&');
}

/**
 * Why the broker queued a connection's close itself: the sweeper, a post answered 410, or a
 * takeover that holds the connection's will for its close (`taken-over`).
 */
export type QueuedCloseCause = 'gone' | 'keep-alive-expired' | 'connect-timeout' | 'taken-over';

export const QUEUED_CLOSE_CAUSES: readonly QueuedCloseCause[] = ['gone', 'keep-alive-expired', 'connect-timeout', 'taken-over'];

/** An SQS FIFO message as the broker sends it: group, deduplication id, body, String attributes. */
export interface IngressMessage {
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * The close of a connection the broker found gone (or closed itself), queued in the connection's
 * own group: handled after every frame the connection sent before it, a DISCONNECT included, as
 * API Gateway's own `$disconnect` message is (docs/ARCHITECTURE.md "Ordered ingress"). The
 * deduplication id names the cause and the millisecond: an SDK retry of the send is dropped as a
 * duplicate, and so are the closes of posts that met the gone connection in the same millisecond;
 * a later close is not (a coarser id would swallow the sweeper's next attempt for minutes, after
 * a close that found the disconnect path of an earlier run still in progress).
 */
export function queuedCloseMessage(connectionId: string, cause: QueuedCloseCause, epochMs: number, clientId?: string): IngressMessage {
  return {
    groupId: connectionId,
    deduplicationId: `close-${cause}-${epochMs}`,
    body: DISCONNECT_BODY,
    attributes: {
      [INGRESS_ATTRIBUTES.eventType]: 'DISCONNECT',
      [INGRESS_ATTRIBUTES.requestTimeEpoch]: String(epochMs),
      [INGRESS_ATTRIBUTES.disconnectStatusCode]: STATUS_CODE_PREFIX,
      [INGRESS_ATTRIBUTES.closeCause]: cause,
      ...(clientId === undefined ? {} : { [INGRESS_ATTRIBUTES.clientId]: clientId }),
    },
  };
}
