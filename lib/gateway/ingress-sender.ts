/**
 * Ordered ingress on AWS: the runtime's own SendMessage of a close to the ingress queue
 * (RuntimeDeps `queueClose`), in the connection's message group, so that SQS FIFO hands it out
 * after every frame the connection sent before it (docs/ARCHITECTURE.md "Ordered ingress").
 * The message is the one lib/ingress-wire.ts `queuedCloseMessage` describes; local mode writes
 * the same into its emulated queue (lib/local/gateway.ts `queueClose`).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { queuedCloseMessage, type QueuedCloseCause } from '../ingress-wire';

export type QueueClose = (connectionId: string, cause: QueuedCloseCause, epochMs: number, clientId?: string) => Promise<void>;

/** Sends closes to the queue at `queueUrl` (the SDK's own retries apply; a failure throws). */
export function sqsQueueClose(queueUrl: string, client: Pick<SQSClient, 'send'> = new SQSClient({})): QueueClose {
  return async (connectionId, cause, epochMs, clientId) => {
    const message = queuedCloseMessage(connectionId, cause, epochMs, clientId);
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageGroupId: message.groupId,
        MessageDeduplicationId: message.deduplicationId,
        MessageBody: message.body,
        MessageAttributes: Object.fromEntries(
          Object.entries(message.attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
        ),
      }),
    );
  };
}
