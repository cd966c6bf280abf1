import { ApiGatewayDelivery } from '../../../lib/gateway/delivery';
import { describeDeliveryContract } from '../../unit/gateway/delivery-contract';
import type { TestClient } from './helpers';
import { cleanup, openClient, startGateway } from './helpers';

describeDeliveryContract('API Gateway adapter against the local gateway (strict)', async () => {
  const { address, delivery, goneIds, recorder } = await startGateway({ strict: true });
  const clients = new Map<string, TestClient>();
  return {
    delivery,
    goneIds,
    open: async () => {
      const client = await openClient(address.url);
      const id = recorder.connects[recorder.connects.length - 1]!.requestContext.connectionId;
      clients.set(id, client);
      return id;
    },
    received: (id, length) => clients.get(id)!.bytes(length),
    kill: async (id) => {
      clients.get(id)!.ws.close(1000);
      await recorder.until(() => recorder.disconnects.some((d) => d.requestContext.connectionId === id));
    },
    dispose: cleanup,
  };
});

// `stratus dev --store memory`: the same adapter over the gateway's in-process `@connections` client.
describeDeliveryContract('API Gateway adapter over the local gateway in process (strict)', async () => {
  const { address, gateway, recorder } = await startGateway({ strict: true });
  const goneIds: string[] = [];
  const delivery = new ApiGatewayDelivery({ client: gateway.managementClient(), onGone: (id) => void goneIds.push(id) });
  const clients = new Map<string, TestClient>();
  return {
    delivery,
    goneIds,
    open: async () => {
      const client = await openClient(address.url);
      const id = recorder.connects[recorder.connects.length - 1]!.requestContext.connectionId;
      clients.set(id, client);
      return id;
    },
    received: (id, length) => clients.get(id)!.bytes(length),
    kill: async (id) => {
      clients.get(id)!.ws.close(1000);
      await recorder.until(() => recorder.disconnects.some((d) => d.requestContext.connectionId === id));
    },
    dispose: cleanup,
  };
});
