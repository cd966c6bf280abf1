/**
 * The local gateway's `@connections` API called in the broker's own process, without HTTP: a
 * `ManagementClient` (the one method of `ApiGatewayManagementApiClient` the delivery adapter uses)
 * that hands each command to the same code as the HTTP API (./management-api.ts `manage`), and
 * answers as the SDK would: the output's fields, or the SDK's exception for API Gateway's error
 * type with its HTTP status in `$metadata` (lib/gateway/delivery.ts `classifyFailure` reads both).
 *
 * Why: each post over HTTP costs a request, a SigV4 signature and the SDK's (de)serialization,
 * which `stratus dev --store memory` spends most of its CPU on (docs/PERFORMANCE.md, "Local mode
 * on the memory store"). The DynamoDB mode keeps the HTTP API and the real SDK client, so the
 * tests on DynamoDB Local still run the SDK's request and error parsing as Lambda does.
 */
import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
  type GetConnectionCommandOutput,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { MESSAGE_LIMIT_BYTES } from '../api-gateway';
import type { ManagementClient } from '../gateway/delivery';
import { newGatewayId } from './events';
import { manage, type ConnectionDetails, type ManagementAnswer, type ManagementApiDeps } from './management-api';

/** An API Gateway error as the SDK throws it: its exception class, the HTTP status in `$metadata`. */
function sdkError(answer: ManagementAnswer): Error {
  const message = (answer.body as { message?: string | null } | undefined)?.message ?? answer.errorType ?? `HTTP ${answer.status}`;
  const $metadata = { httpStatusCode: answer.status, requestId: newGatewayId() };
  if (answer.errorType === 'GoneException') return new GoneException({ message, $metadata });
  if (answer.errorType === 'PayloadTooLargeException') return new PayloadTooLargeException({ message, $metadata, Message: message });
  return Object.assign(new Error(message), { name: answer.errorType ?? 'UnknownError', $metadata });
}

type AnyCommand = { readonly input: unknown };

export function inProcessManagementClient(deps: ManagementApiDeps): ManagementClient {
  const send = async (command: AnyCommand): Promise<unknown> => {
    // After an await, as an HTTP call would be: the caller never runs on inside the gateway's stack.
    await Promise.resolve();
    const metadata = { httpStatusCode: 200, requestId: newGatewayId(), attempts: 1, totalRetryDelay: 0 };
    if (command instanceof PostToConnectionCommand) {
      const data = command.input.Data;
      if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new TypeError('PostToConnection Data must be bytes or a string here');
      // A copy: the socket may still hold it after the caller reuses its buffer.
      const bytes = Buffer.from(data);
      const answer = manage('POST', command.input.ConnectionId ?? '', bytes.length > MESSAGE_LIMIT_BYTES ? undefined : bytes, deps);
      if (answer.status >= 300) throw sdkError(answer);
      return { $metadata: metadata };
    }
    if (command instanceof GetConnectionCommand) {
      const answer = manage('GET', command.input.ConnectionId ?? '', undefined, deps);
      if (answer.status >= 300) throw sdkError(answer);
      const details = answer.body as ConnectionDetails;
      const output: GetConnectionCommandOutput = {
        $metadata: metadata,
        ConnectedAt: new Date(details.connectedAt),
        LastActiveAt: new Date(details.lastActiveAt),
        Identity: { SourceIp: details.identity.sourceIp, UserAgent: details.identity.userAgent },
      };
      return output;
    }
    if (command instanceof DeleteConnectionCommand) {
      const answer = manage('DELETE', command.input.ConnectionId ?? '', undefined, deps);
      if (answer.status >= 300) throw sdkError(answer);
      return { $metadata: { ...metadata, httpStatusCode: answer.status } };
    }
    throw new TypeError('the local @connections API serves PostToConnection, GetConnection and DeleteConnection only');
  };
  return { send } as unknown as ManagementClient;
}
