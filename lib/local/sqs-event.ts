/**
 * The SQS event Lambda's event source mapping hands a function, built exactly as Lambda builds it
 * for a FIFO queue, and how Lambda reads the function's answer with ReportBatchItemFailures.
 * Local mode's consumers (./event-source-mapping.ts) call the ingress handler with these.
 */
import { createHash } from 'node:crypto';
import type { Received } from './ingress-queue';

export interface SqsMessageAttribute {
  readonly stringValue: string;
  readonly stringListValues: readonly string[];
  readonly binaryListValues: readonly string[];
  readonly dataType: 'String';
}

export interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: {
    readonly ApproximateReceiveCount: string;
    readonly SentTimestamp: string;
    readonly SequenceNumber: string;
    readonly MessageGroupId: string;
    readonly SenderId: string;
    readonly MessageDeduplicationId: string;
    readonly ApproximateFirstReceiveTimestamp: string;
  };
  readonly messageAttributes: Readonly<Record<string, SqsMessageAttribute>>;
  readonly md5OfMessageAttributes?: string;
  readonly md5OfBody: string;
  readonly eventSource: 'aws:sqs';
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}

/** What a function answers with ReportBatchItemFailures (anything else counts as a failure). */
export interface SqsBatchResponse {
  readonly batchItemFailures?: readonly { readonly itemIdentifier?: unknown }[] | null;
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_QUEUE_ARN = `arn:aws:sqs:${LOCAL_REGION}:000000000000:stratus-local-ingress.fifo`;
/** The sender as SQS reports it: API Gateway's role session. */
const SENDER_ID = 'AROAEXAMPLELOCALGATEWAY:apigateway';

export function sqsEvent(batch: readonly Received[], queueArn = LOCAL_QUEUE_ARN): SqsEvent {
  return { Records: batch.map((received) => sqsRecord(received, queueArn)) };
}

function sqsRecord({ message, receivedAt }: Received, queueArn: string): SqsRecord {
  const { send } = message;
  const messageAttributes: Record<string, SqsMessageAttribute> = {};
  for (const [name, value] of Object.entries(send.attributes)) {
    messageAttributes[name] = { stringValue: value, stringListValues: [], binaryListValues: [], dataType: 'String' };
  }
  const hasAttributes = Object.keys(messageAttributes).length > 0;
  return {
    messageId: message.messageId,
    receiptHandle: Buffer.from(`${message.messageId}:${receivedAt}:${message.receiveCount}`).toString('base64'),
    body: send.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SequenceNumber: message.sequenceNumber,
      MessageGroupId: send.groupId,
      SenderId: SENDER_ID,
      MessageDeduplicationId: send.deduplicationId,
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    },
    messageAttributes,
    ...(hasAttributes ? { md5OfMessageAttributes: md5OfMessageAttributes(send.attributes) } : {}),
    md5OfBody: createHash('md5').update(send.body, 'utf8').digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

/**
 * SQS's digest of String message attributes: per attribute, sorted by name, the name, the data
 * type (each as a 4-byte big-endian length and UTF-8 bytes), the transport type byte 1, and the
 * value (length and bytes).
 */
export function md5OfMessageAttributes(attributes: Readonly<Record<string, string>>): string {
  const hash = createHash('md5');
  const field = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    field(name);
    field('String');
    hash.update(Buffer.from([1]));
    field(attributes[name] as string);
  }
  return hash.digest('hex');
}

/**
 * The message ids of the batch that failed, as Lambda reads a ReportBatchItemFailures answer:
 * none for an empty or absent answer or list; every one when the answer is not of that shape or
 * names an empty, missing or unknown id ("complete failure").
 */
export function failedMessageIds(response: unknown, batch: readonly Received[]): Set<string> {
  const all = new Set(batch.map((r) => r.message.messageId));
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object') return all;
  const failures = (response as SqsBatchResponse).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const failed = new Set<string>();
  for (const item of failures as unknown[]) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}
