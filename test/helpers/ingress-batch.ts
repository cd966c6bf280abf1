/**
 * Batches of the ordered ingress queue as Lambda's event source mapping hands them to the consumer
 * (lib/runtime/ingress.ts): frames and closes written as the request templates of
 * lib/ingress-wire.ts write them, for the memory runtime's connections.
 */
import { INGRESS_ATTRIBUTES, STATUS_CODE_PREFIX } from '../../lib/ingress-wire';
import { encode, type Packet } from '../../lib/mqtt';
import type { TestConnection } from './memory-runtime';

let ids = 0;

export interface FrameOptions {
  /** ApproximateReceiveCount. @default 1 */
  readonly receiveCount?: number;
  /** Numbers the frame: `<seq>:<base64>` (docs/TRANSPORT.md section 3). @default unnumbered */
  readonly seq?: number;
}

/** One queue message: a frame carrying `packets`, as the `$default` request template writes it. */
export function frame(conn: TestConnection, packets: Packet[], options: FrameOptions | number = {}): object {
  const { receiveCount = 1, seq } = typeof options === 'number' ? { receiveCount: options } : options;
  const base64 = Buffer.concat(packets.map((p) => encode(p, conn.version))).toString('base64');
  const body = seq === undefined ? base64 : `${seq}:${base64}`;
  return record(conn.id, body, { [INGRESS_ATTRIBUTES.eventType]: 'MESSAGE' }, receiveCount);
}

/** The close of a connection, as the `$disconnect` request template writes it. */
export function close(conn: TestConnection, code: number | '' = 1000, receiveCount = 1): object {
  const attributes = { [INGRESS_ATTRIBUTES.eventType]: 'DISCONNECT', [INGRESS_ATTRIBUTES.disconnectStatusCode]: `${STATUS_CODE_PREFIX}${code}` };
  return record(conn.id, 'DISCONNECT', attributes, receiveCount);
}

function record(connectionId: string, body: string, attributes: Record<string, string>, receiveCount: number): object {
  const n = ++ids;
  const messageAttributes: Record<string, { stringValue: string; dataType: string }> = {
    [INGRESS_ATTRIBUTES.requestTimeEpoch]: { stringValue: String(1_800_000_000_000 + n), dataType: 'String' },
  };
  for (const [name, value] of Object.entries(attributes)) messageAttributes[name] = { stringValue: value, dataType: 'String' };
  return {
    messageId: `m-${n}`,
    receiptHandle: `r-${n}`,
    body,
    attributes: { MessageGroupId: connectionId, MessageDeduplicationId: `req-${n}`, ApproximateReceiveCount: String(receiveCount), SentTimestamp: '1' },
    messageAttributes,
    eventSource: 'aws:sqs',
  };
}

export const batch = (...records: object[]) => ({ Records: records });
export const idOf = (r: object) => (r as { messageId: string }).messageId;
