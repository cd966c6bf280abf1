/** Packet builders shared by the test helpers and fixtures. Pure data. */
import type { ConnectPacket, ProtocolVersion } from '../../lib/mqtt/types';

/** A CONNECT for `version` ('MQIsdp' for 3.1, 'MQTT' otherwise): clean, keep alive 60, client id 'client'; `fields` override. */
export function connectPacket(version: ProtocolVersion, fields: Partial<ConnectPacket> = {}): ConnectPacket {
  return {
    type: 'connect',
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: true,
    keepAlive: 60,
    clientId: 'client',
    ...fields,
  };
}
