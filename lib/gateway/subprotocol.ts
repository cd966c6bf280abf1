/**
 * WebSocket subprotocol negotiation for `$connect`. MQTT over WebSocket uses the subprotocol
 * `mqtt` [MQTT-6.0.0-3]; legacy 3.1 clients offer `mqttv3.1`. The client sends its offers in
 * `Sec-WebSocket-Protocol` as a comma-separated list (one header or several); the server picks one
 * and the `$connect` result must echo it, or the client fails the handshake.
 */
import type { ConnectEvent, GatewayResult } from './events';
import { headerValue } from './events';

export const SUBPROTOCOL_HEADER = 'Sec-WebSocket-Protocol';

/** Accepted subprotocols, most preferred first. */
export const SUPPORTED_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;
export type Subprotocol = (typeof SUPPORTED_SUBPROTOCOLS)[number];

/**
 * Picks the subprotocol from the offered list: `mqtt` if offered anywhere in the list, else
 * `mqttv3.1`, else undefined (the `$connect` handler then refuses the handshake). Tokens are
 * trimmed and compared exactly (subprotocol names are case-sensitive).
 */
export function selectSubprotocol(offered: string | undefined): Subprotocol | undefined {
  if (offered === undefined) return undefined;
  const tokens = new Set(offered.split(',').map((token) => token.trim()));
  return SUPPORTED_SUBPROTOCOLS.find((protocol) => tokens.has(protocol));
}

/** The subprotocol a `$connect` event offers that Stratus accepts, if any. */
export function subprotocolOf(
  event: Pick<ConnectEvent, 'headers' | 'multiValueHeaders'>,
): Subprotocol | undefined {
  return selectSubprotocol(headerValue(event, SUBPROTOCOL_HEADER));
}

/** The `$connect` result that completes the upgrade and echoes the chosen subprotocol. */
export function acceptConnect(protocol: Subprotocol): GatewayResult {
  return { statusCode: 200, headers: { [SUBPROTOCOL_HEADER]: protocol } };
}

/** The `$connect` result that refuses the upgrade (no acceptable subprotocol, or not allowed). */
export function refuseConnect(statusCode = 400): GatewayResult {
  return { statusCode };
}
