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
