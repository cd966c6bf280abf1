/**
 * The ordered ingress queue's messages as the consumer receives them: an SQS event (Lambda's
 * event source mapping, or local mode's emulation of it) turned into ingress records, one per
 * WebSocket frame or close, in queue order. The wire contract is lib/ingress-wire.ts.
 */
import { INGRESS_ATTRIBUTES, QUEUED_CLOSE_CAUSES, STATUS_CODE_PREFIX, type QueuedCloseCause } from '../ingress-wire';
import * as z from '../zod-mini';
import { FramingError, GatewayEventError } from './errors';
import { parseNumbered } from './framing';

const attributeSchema = z.object({ stringValue: z.optional(z.string()), dataType: z.optional(z.string()) });

const sqsRecordSchema = z.object({
  messageId: z.string().check(z.minLength(1)),
  body: z.string(),
  attributes: z.object({
    MessageGroupId: z.string().check(z.minLength(1)),
    MessageDeduplicationId: z.optional(z.string()),
    ApproximateReceiveCount: z.string(),
    SentTimestamp: z.optional(z.string()),
  }),
  messageAttributes: z.record(z.string(), attributeSchema),
});

const sqsEventSchema = z.object({ Records: z.array(z.unknown()) });

/** One frame or close of a connection, as the queue delivered it. */
export type IngressRecord = {
  /** The SQS message id: what a batch item failure names. */
  readonly messageId: string;
  readonly connectionId: string;
  readonly requestId: string;
  readonly requestTimeEpoch: number;
  /** How many times the queue has handed this message out, this time included. */
  readonly receiveCount: number;
} & (
  | {
      readonly type: 'MESSAGE';
      /** The frame's text, its `<seq>:` prefix stripped (docs/TRANSPORT.md section 3). */
      readonly body: string;
      readonly isBase64Encoded: boolean;
      /** The client's sequence number of the message; undefined when it is not numbered. */
      readonly seq?: number;
    }
  | {
      readonly type: 'DISCONNECT';
      readonly disconnectStatusCode?: number;
      /** A close the broker queued itself (lib/ingress-wire.ts `queuedCloseMessage`): why. */
      readonly cause?: QueuedCloseCause;
      /** A takeover's close: the client id whose session holds the connection's will. */
      readonly clientId?: string;
    }
);

/** A record of the batch that is not a valid ingress message: it fails, and reaches the DLQ. */
export interface InvalidIngressRecord {
  readonly messageId: string;
  readonly connectionId: string | undefined;
  readonly error: GatewayEventError;
}

/** The batch's records, in queue order; the invalid ones separately, each with its error. */
export function parseIngressEvent(raw: unknown): { records: IngressRecord[]; invalid: InvalidIngressRecord[] } {
  const event = sqsEventSchema.safeParse(raw);
  if (!event.success) throw new GatewayEventError('not an SQS event', issuesOf(event.error), { cause: event.error });
  const records: IngressRecord[] = [];
  const invalid: InvalidIngressRecord[] = [];
  for (const item of event.data.Records) {
    const parsed = toIngressRecord(item);
    if ('error' in parsed) invalid.push(parsed);
    else records.push(parsed);
  }
  return { records, invalid };
}

function toIngressRecord(item: unknown): IngressRecord | InvalidIngressRecord {
  const parsed = sqsRecordSchema.safeParse(item);
  const messageId = (item as { messageId?: unknown } | null)?.messageId;
  if (!parsed.success) {
    const error = new GatewayEventError('not a valid ingress message', issuesOf(parsed.error), { cause: parsed.error });
    return { messageId: typeof messageId === 'string' ? messageId : '', connectionId: undefined, error };
  }
  const { attributes, messageAttributes: attrs, body } = parsed.data;
  const value = (name: string) => attrs[name]?.stringValue;
  const base = {
    messageId: parsed.data.messageId,
    connectionId: attributes.MessageGroupId,
    requestId: attributes.MessageDeduplicationId ?? parsed.data.messageId,
    requestTimeEpoch: Number(value(INGRESS_ATTRIBUTES.requestTimeEpoch) ?? attributes.SentTimestamp),
    receiveCount: Number(attributes.ApproximateReceiveCount),
  };
  const type = value(INGRESS_ATTRIBUTES.eventType);
  if (!Number.isSafeInteger(base.requestTimeEpoch) || !Number.isSafeInteger(base.receiveCount) || (type !== 'MESSAGE' && type !== 'DISCONNECT')) {
    const error = new GatewayEventError('not a valid ingress message', [`${INGRESS_ATTRIBUTES.eventType}: ${type}`]);
    return { messageId: base.messageId, connectionId: base.connectionId, error };
  }
  if (type === 'MESSAGE') return { ...base, type, ...messageBody(body, value(INGRESS_ATTRIBUTES.binary) === 'true') };
  const code = Number.parseInt((value(INGRESS_ATTRIBUTES.disconnectStatusCode) ?? '').slice(STATUS_CODE_PREFIX.length), 10);
  const cause = QUEUED_CLOSE_CAUSES.find((c) => c === value(INGRESS_ATTRIBUTES.closeCause));
  const clientId = value(INGRESS_ATTRIBUTES.clientId);
  return {
    ...base,
    type,
    ...(Number.isSafeInteger(code) ? { disconnectStatusCode: code } : {}),
    ...(cause === undefined ? {} : { cause }),
    ...(clientId === undefined ? {} : { clientId }),
  };
}

/**
 * A frame's body and sequence number. A malformed prefix leaves the body whole and unnumbered:
 * decoding it then fails, and the frame gets the reaction to any malformed frame.
 */
function messageBody(body: string, isBase64Encoded: boolean): { body: string; isBase64Encoded: boolean; seq?: number } {
  if (isBase64Encoded) return { body, isBase64Encoded };
  try {
    const { seq, base64 } = parseNumbered(body);
    return seq === undefined ? { body, isBase64Encoded } : { body: base64, isBase64Encoded, seq };
  } catch (error) {
    if (error instanceof FramingError) return { body, isBase64Encoded };
    throw error;
  }
}

function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}
