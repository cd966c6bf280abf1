/**
 * Ordered ingress (`ingress: 'ordered'`): `$default` frames and `$disconnect` closes go from API
 * Gateway straight into an SQS FIFO queue, one message group per connection, and the message
 * function consumes the queue in batches. The wire contract (the request templates) is
 * lib/ingress-wire.ts; the consumer is lib/runtime/ingress.ts.
 *
 * - The queue: FIFO in high-throughput mode (deduplication per message group, throughput limit per
 *   group; without it the whole broker is capped near 300 frames per second), no content-based
 *   deduplication (every PINGREQ is the same bytes: the request id is the deduplication id),
 *   SQS-managed encryption, TLS only, and a FIFO dead-letter queue after INGRESS_MAX_RECEIVES
 *   attempts.
 * - The send role: trusted by API Gateway, allowed `sqs:SendMessage` on this queue and nothing else.
 * - The integrations: AWS service integrations to `SendMessage`, form-encoded, with a static
 *   template selection expression (MQTT frames are base64, not JSON) and passthrough NEVER.
 * - The consumer: an event source mapping (batch of 10, partial batch failures); its grant is the
 *   message function's only access to the queue.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { PassthroughBehavior } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketAwsIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { sendMessageTemplate, type IngressEventType } from '../ingress-wire';

/**
 * Attempts of one frame before SQS moves it to the dead-letter queue (the redrive policy's
 * maxReceiveCount). The runtime reads it as STRATUS_INGRESS_MAX_RECEIVES: on the last attempt it
 * closes the connection, since the connection's order can no longer be kept.
 */
export const INGRESS_MAX_RECEIVES = 5;
/** Frames per batch: the largest an SQS FIFO event source allows. */
export const INGRESS_BATCH_SIZE = 10;
/** Lambda's guidance for SQS event sources: a visibility timeout of at least 6 times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** How long a dead-lettered frame is kept for inspection: the SQS maximum. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/** API Gateway sends `SendMessage` as a form (Query API), the body URL-encoded by the template. */
const FORM_CONTENT_TYPE = "'application/x-www-form-urlencoded'";
/** Static: the request template applies whatever the frame holds (base64 text, not JSON). */
const TEMPLATE_SELECTION_EXPRESSION = '\\$default';
const TEMPLATE_KEY = '$default';

export interface IngressQueue {
  /** The FIFO queue: one message group per connection */
  readonly queue: Queue;
  /** Frames that failed INGRESS_MAX_RECEIVES times */
  readonly deadLetterQueue: Queue;
  /** The role API Gateway assumes to send: `sqs:SendMessage` on `queue` only */
  readonly sendRole: Role;
  /** `$default` frames (MESSAGE) */
  readonly defaultIntegration: WebSocketAwsIntegration;
  /** `$disconnect` closes (DISCONNECT), in the connection's group after its last frame */
  readonly disconnectIntegration: WebSocketAwsIntegration;
}

interface IngressQueueProps {
  /** The consumer's timeout: the visibility timeout is VISIBILITY_TIMEOUT_FACTOR times it */
  readonly consumerTimeout: Duration;
}

function createQueues(scope: Construct, props: IngressQueueProps): { queue: Queue; deadLetterQueue: Queue } {
  const deadLetterQueue = new Queue(scope, 'IngressDeadLetterQueue', {
    fifo: true,
    contentBasedDeduplication: false,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
  });
  const queue = new Queue(scope, 'IngressQueue', {
    fifo: true,
    contentBasedDeduplication: false,
    deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
    fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: INGRESS_MAX_RECEIVES },
  });
  return { queue, deadLetterQueue };
}

function createSendRole(scope: Construct, queue: Queue): Role {
  const role = new Role(scope, 'IngressSendRole', {
    assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
    description: `Stratus: API Gateway sends WebSocket frames to the ingress queue (${Stack.of(scope).stackName})`,
  });
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  return role;
}

/** `arn:{partition}:apigateway:{region}:sqs:path/{account}/{queue name}`: SQS's Query API through API Gateway. */
export function sqsIntegrationUri(queue: Queue): string {
  const stack = Stack.of(queue);
  return `arn:${stack.partition}:apigateway:${stack.region}:sqs:path/${stack.account}/${queue.queueName}`;
}

function sendIntegration(id: string, queue: Queue, role: Role, eventType: IngressEventType): WebSocketAwsIntegration {
  return new WebSocketAwsIntegration(id, {
    integrationUri: sqsIntegrationUri(queue),
    integrationMethod: 'POST',
    credentialsRole: role,
    requestParameters: { 'integration.request.header.Content-Type': FORM_CONTENT_TYPE },
    templateSelectionExpression: TEMPLATE_SELECTION_EXPRESSION,
    requestTemplates: { [TEMPLATE_KEY]: sendMessageTemplate(eventType) },
    passthroughBehavior: PassthroughBehavior.NEVER,
  });
}

/** The queue, its dead-letter queue, the send role and the two route integrations. */
export function createIngressQueue(scope: Construct, props: IngressQueueProps): IngressQueue {
  const { queue, deadLetterQueue } = createQueues(scope, props);
  const sendRole = createSendRole(scope, queue);
  return {
    queue,
    deadLetterQueue,
    sendRole,
    defaultIntegration: sendIntegration('DefaultQueueIntegration', queue, sendRole, 'MESSAGE'),
    disconnectIntegration: sendIntegration('DisconnectQueueIntegration', queue, sendRole, 'DISCONNECT'),
  };
}

/**
 * The message function consumes the queue: batches of INGRESS_BATCH_SIZE, no batching window (FIFO
 * allows none), partial batch failures reported per frame. No maximum concurrency: a FIFO event
 * source runs at most one batch per message group (connection) at a time, so its concurrency
 * follows the number of connections with frames waiting, up to the account's limit; a cap would
 * leave frames waiting in the queue under load (docs/DEPLOY.md "Ingress").
 * The mapping's grant (receive, delete, change visibility, attributes, on this queue) is the
 * function's only access to it.
 */
export function consumeIngress(fn: IFunction, queue: Queue): void {
  fn.addEventSource(new SqsEventSource(queue, { batchSize: INGRESS_BATCH_SIZE, reportBatchItemFailures: true }));
}
