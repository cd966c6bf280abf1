/**
 * One `ApiGatewayManagementApiClient` per endpoint, created on first use and cached for the life
 * of the process (module scope: a Lambda container reuses it across invocations).
 *
 * The endpoint comes from configuration (STRATUS_MANAGEMENT_ENDPOINT: the stage's callback URL, a
 * custom domain, or local mode's `http://127.0.0.1:8083/mqtt`); a trailing slash is ignored.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ApiGatewayManagementApiClientConfig } from '@aws-sdk/client-apigatewaymanagementapi';

export type ManagementClientConfig = Omit<ApiGatewayManagementApiClientConfig, 'endpoint'>;

const clients = new Map<string, ApiGatewayManagementApiClient>();

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
  const url = endpoint.replace(/\/+$/, '');
  let client = clients.get(url);
  if (client === undefined) {
    client = new ApiGatewayManagementApiClient({ maxAttempts: 1, ...config, endpoint: url });
    clients.set(url, client);
  }
  return client;
}

/** Destroys and forgets every cached client (tests, and local mode shutting down). */
export function resetManagementClients(): void {
  for (const client of clients.values()) client.destroy();
  clients.clear();
}
