/**
 * The management client's timeouts (lib/gateway/management-client.ts), with the real SDK client
 * against a local HTTP server that never answers, and what the delivery adapter does with a
 * timed-out post: a message of whole packets is never posted again (DeliveryTimeoutError), a
 * tagged fragment is posted once more and the client keeps one copy of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiGatewayDelivery } from '../../../lib/gateway/delivery';
import { DeliveryError, DeliveryTimeoutError } from '../../../lib/gateway/errors';
import {
  MANAGEMENT_CONNECTION_TIMEOUT_MS,
  MANAGEMENT_REQUEST_TIMEOUT_MS,
  managementClient,
  resetManagementClients,
} from '../../../lib/gateway/management-client';
import { decodeServerMessages } from '../../../lib/client/reassembly';
import { POST_PACKED_BYTES } from '../../../lib/api-gateway';
import { packetOfSize, sameBytes } from './delivery-contract';
import { startConnectionsServer, type Answer, type ConnectionsServer, type ReceivedRequest } from './connections-server';

const LOCAL = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
/** Short, so that the test does not wait the production 3 s. */
const TEST_TIMEOUT_MS = 150;

let server: ConnectionsServer | undefined;

afterEach(async () => {
  resetManagementClients();
  await server?.close();
  server = undefined;
});

async function setup(answer: (request: ReceivedRequest) => Answer) {
  server = await startConnectionsServer(answer);
  const client = managementClient(server.endpoint, { ...LOCAL, requestTimeoutMs: TEST_TIMEOUT_MS });
  return { server, client, delivery: new ApiGatewayDelivery({ client }) };
}

/** The handler's settled configuration (the SDK resolves it on the first request). */
function handlerConfig(client: ReturnType<typeof managementClient>): Record<string, unknown> {
  const handler = client.config.requestHandler as unknown as { httpHandlerConfigs(): Record<string, unknown> };
  return handler.httpHandlerConfigs();
}

describe('management client timeouts', () => {
  it('a POST that is never answered fails with DeliveryTimeoutError, and is not posted again', async () => {
    const { server, client, delivery } = await setup(() => 'hang');
    const error = await delivery.send('conn-1', packetOfSize(10), 'text').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryTimeoutError);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryTimeoutError).connectionId).toBe('conn-1');
    expect((error as DeliveryTimeoutError).posted).toBe(0);
    expect((error as Error).cause).toMatchObject({ name: 'TimeoutError' });
    // Whole packets: a second post could be a duplicate packet on the client.
    expect(server.requests.map((r) => r.method)).toEqual(['POST']);
    expect(handlerConfig(client)).toMatchObject({
      requestTimeout: TEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      connectionTimeout: MANAGEMENT_CONNECTION_TIMEOUT_MS,
    });
  });

  it('a timed-out fragment is posted again once; the client keeps one copy of the part', async () => {
    let hung = false;
    const { server, delivery } = await setup((request) => {
      if (request.method === 'POST' && !hung) {
        hung = true;
        return 'hang';
      }
      return 200;
    });
    const packet = packetOfSize(POST_PACKED_BYTES + 1_000, 3);
    expect(await delivery.send('conn-1', packet, 'text')).toEqual({ status: 'sent', posted: 2 });
    const bodies = server.requests.map((r) => r.body);
    expect(bodies).toHaveLength(3);
    expect(bodies[1]).toBe(bodies[0]); // fragment 0, again under the same tag
    // Even had the hung post landed, the client reads the packet once.
    expect(sameBytes(decodeServerMessages(bodies), packet)).toBe(true);
  });

  it('a fragment that times out twice fails the send with the fragments posted before it', async () => {
    let posts = 0;
    const { server, delivery } = await setup(() => (++posts === 1 ? 200 : 'hang'));
    const error = await delivery.send('conn-1', packetOfSize(2 * POST_PACKED_BYTES, 4), 'text').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryTimeoutError);
    expect((error as DeliveryTimeoutError).posted).toBe(1);
    expect(server.requests).toHaveLength(3);
  });

  it('close and info time out with DeliveryTimeoutError too', async () => {
    const { delivery } = await setup(() => 'hang');
    await expect(delivery.close('conn-1')).rejects.toBeInstanceOf(DeliveryTimeoutError);
    await expect(delivery.info('conn-1')).rejects.toBeInstanceOf(DeliveryTimeoutError);
  });

  it('by default a request times out after 3 s and a connection attempt after 1 s', async () => {
    server = await startConnectionsServer(() => 410);
    const client = managementClient(server.endpoint, LOCAL);
    expect((await new ApiGatewayDelivery({ client }).send('conn-1', packetOfSize(5), 'text')).status).toBe('gone');
    expect(handlerConfig(client)).toMatchObject({
      requestTimeout: MANAGEMENT_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      connectionTimeout: MANAGEMENT_CONNECTION_TIMEOUT_MS,
    });
    expect(MANAGEMENT_REQUEST_TIMEOUT_MS).toBe(3_000);
  });
});
