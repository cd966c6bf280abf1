/**
 * One `ApiGatewayManagementApiClient` per endpoint, created on first use and cached for the life
 * of the process (module scope: a Lambda container reuses it across invocations).
 *
 * The endpoint comes from configuration (STRATUS_MANAGEMENT_ENDPOINT: the stage's callback URL, a
 * custom domain, or local mode's `http://127.0.0.1:8083/mqtt`); a trailing slash is ignored.
 *
 * Timeouts. Without them a POST that API Gateway never answers holds its fan-out worker until the
 * function's own timeout (29 s). The SDK's Node request handler (@smithy/node-http-handler) takes
 * `connectionTimeout` (the TCP/TLS connection) and `requestTimeout` (the whole request and
 * response), the latter an error only with `throwOnRequestTimeout`; both fail with a
 * `TimeoutError`, which the Delivery adapter turns into DeliveryTimeoutError (lib/gateway/delivery.ts
 * says what a timed-out post means and what is done with it).
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ApiGatewayManagementApiClientConfig } from '@aws-sdk/client-apigatewaymanagementapi';

/** A POST answers in tens of milliseconds; three seconds is a hung request, not a slow one. */
export const MANAGEMENT_REQUEST_TIMEOUT_MS = 3_000;
/** Connecting to the regional endpoint (TCP and TLS) takes a few milliseconds from Lambda. */
export const MANAGEMENT_CONNECTION_TIMEOUT_MS = 1_000;

export type ManagementClientConfig = Omit<ApiGatewayManagementApiClientConfig, 'endpoint'> & {
  /** @default MANAGEMENT_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
  /** @default MANAGEMENT_CONNECTION_TIMEOUT_MS */
  readonly connectionTimeoutMs?: number;
};

const clients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * The cached client for an endpoint. `config` (region, credentials, timeouts, ...) is used only
 * when the client is first created for that endpoint; a `requestHandler` in it replaces the
 * timeouts.
 *
 * The SDK's own retries are off (`maxAttempts: 1`) unless `config` says otherwise: the Delivery
 * adapter paces 429s itself, and a POST repeated after a lost response would post its message
 * twice (a duplicate MQTT packet).
 */
export function managementClient(endpoint: string, config: ManagementClientConfig = {}): ApiGatewayManagementApiClient {
  const url = endpoint.replace(/\/+$/, '');
  let client = clients.get(url);
  if (client === undefined) {
    const { requestTimeoutMs, connectionTimeoutMs, ...sdkConfig } = config;
    client = new ApiGatewayManagementApiClient({
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: requestTimeoutMs ?? MANAGEMENT_REQUEST_TIMEOUT_MS,
        throwOnRequestTimeout: true,
        connectionTimeout: connectionTimeoutMs ?? MANAGEMENT_CONNECTION_TIMEOUT_MS,
      },
      ...sdkConfig,
      endpoint: url,
    });
    clients.set(url, client);
  }
  return client;
}

/** Destroys and forgets every cached client (tests, and local mode shutting down). */
export function resetManagementClients(): void {
  for (const client of clients.values()) client.destroy();
  clients.clear();
}
