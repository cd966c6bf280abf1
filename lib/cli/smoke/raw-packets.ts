/** Packets the byte-level checks send, for the run's protocol version and credentials. */
import type { ConnackPacket, ConnectPacket, DisconnectPacket, Packet, PublishPacket, Will } from '../../mqtt';
import { encodedLength } from '../../mqtt';
import type { SmokeContext } from './check';

/** A clean CONNECT; with the run's credentials unless `anonymous`. v5: Session Expiry 0, nothing kept. */
export function connectPacket(ctx: SmokeContext, clientId: string, options: { anonymous?: boolean; will?: Will } = {}): ConnectPacket {
  const credentials = options.anonymous
    ? {}
    : {
        ...(ctx.username === undefined ? {} : { username: ctx.username }),
        ...(ctx.password === undefined ? {} : { password: new TextEncoder().encode(ctx.password) }),
      };
  return {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: ctx.protocolVersion,
    clean: true,
    keepAlive: 60,
    clientId,
    ...credentials,
    ...(options.will === undefined ? {} : { will: options.will }),
  };
}

export function disconnectPacket(ctx: SmokeContext): DisconnectPacket {
  return ctx.protocolVersion === 5 ? { type: 'disconnect', reasonCode: 0 } : { type: 'disconnect' };
}

export const isConnack = (packet: Packet): packet is ConnackPacket => packet.type === 'connack';

/**
 * A QoS 1 PUBLISH to `topic` whose encoding is exactly `bytes` long (its base64 is then exactly
 * `bytes / 3 * 4` characters). Throws RangeError if no payload size gives that length.
 */
export function publishOfLength(ctx: SmokeContext, topic: string, packetId: number, bytes: number): PublishPacket {
  const build = (size: number): PublishPacket => ({
    type: 'publish',
    topic,
    payload: new Uint8Array(size).fill(0x2e),
    qos: 1,
    retain: false,
    dup: false,
    packetId,
  });
  let size = bytes;
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const length = encodedLength(build(size), ctx.protocolVersion);
    if (length === bytes) return build(size);
    size -= length - bytes;
    if (size < 0) break;
  }
  throw new RangeError(`no PUBLISH to ${topic} is exactly ${bytes} bytes long`);
}
