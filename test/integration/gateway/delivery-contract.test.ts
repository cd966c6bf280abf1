import { ApiGatewayDelivery, type ManagementClient } from '../../../lib/gateway/delivery';
import type { LocalGateway } from '../../../lib/local/gateway';
import { describeDeliveryContract } from '../../unit/gateway/delivery-contract';
import type { TestClient } from './helpers';
import { cleanup, openClient, startGateway } from './helpers';

/**
 * The API Gateway adapter against the local gateway (strict), over the client `clientOf` picks:
 * the real SDK client over HTTP, or the gateway's in-process one (`stratus dev --store memory`).
 */
function againstLocalGateway(name: string, clientOf: (gateway: LocalGateway, sdk: ManagementClient) => ManagementClient): void {
  describeDeliveryContract(name, async () => {
    const { address, gateway, client, recorder } = await startGateway({ strict: true });
    const goneIds: string[] = [];
    const delivery = new ApiGatewayDelivery({ client: clientOf(gateway, client), onGone: (id) => void goneIds.push(id) });
    const clients = new Map<string, TestClient>();
    return {
      delivery,
      goneIds,
      open: async () => {
        const opened = await openClient(address.url);
        const id = recorder.connects[recorder.connects.length - 1]!.requestContext.connectionId;
        clients.set(id, opened);
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
}

againstLocalGateway('API Gateway adapter against the local gateway (strict)', (_gateway, sdk) => sdk);
againstLocalGateway('API Gateway adapter over the local gateway in process (strict)', (gateway) => gateway.managementClient());
