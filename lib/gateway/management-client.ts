/**
 * One `ApiGatewayManagementApiClient` per endpoint, created on first use and cached for the life
 * of the process (module scope: a Lambda container reuses it across invocations).
 *
 * The endpoint is `https://{domainName}/{stage}` from the event's request context, unless the
 * caller passes an override (from STRATUS_MANAGEMENT_ENDPOINT, read and validated by the caller's
 * configuration: custom domains and local mode, e.g. `http://127.0.0.1:8083/mqtt`).
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ApiGatewayManagementApiClientConfig } from '@aws-sdk/client-apigatewaymanagementapi';

export type ManagementClientConfig = Omit<ApiGatewayManagementApiClientConfig, 'endpoint'>;

const clients = new Map<string, ApiGatewayManagementApiClient>();

/** The `@connections` endpoint for a request context, or the override when one is given. */
export function managementEndpoint(
  context: { readonly domainName: string; readonly stage: string },
  override?: string,
): string {
  if (override !== undefined && override !== '') return override.replace(/\/+$/, '');
  return `https://${context.domainName}/${context.stage}`;
}

/**
 * The cached client for an endpoint. `config` (region, credentials, ...) is used only when the
 * client is first created for that endpoint.
 *
 * The SDK's own retries are off (`maxAttempts: 1`) unless `config` says otherwise: the Delivery
 * adapter retries 429s itself, and a POST repeated after a lost response would post its chunk
 * twice and corrupt the client's byte stream.
 */
export function managementClient(
  endpoint: string,
  config: ManagementClientConfig = {},
): ApiGatewayManagementApiClient {
  let client = clients.get(endpoint);
  if (client === undefined) {
    client = new ApiGatewayManagementApiClient({ maxAttempts: 1, ...config, endpoint });
    clients.set(endpoint, client);
  }
  return client;
}

/** Destroys and forgets every cached client (tests, and local mode shutting down). */
export function resetManagementClients(): void {
  for (const client of clients.values()) client.destroy();
  clients.clear();
}
