/**
 * The edge bridge: stock MQTT clients (TCP, TLS, binary WebSocket) relayed to Stratus over the
 * base64 text transport, one upstream connection per client. See docs/DEPLOY.md.
 */
export { startBridge, BridgeConfigError, type Bridge, type BridgeRuntimeOptions } from './bridge';
export {
  BRIDGE_DEFAULTS,
  bridgeConfigSchema,
  parseBridgeOptions,
  redactUrl,
  type BridgeConfig,
  type BridgeConfigInput,
} from './options';
export { BridgeStats } from './stats';
export { UpstreamUnreachableError } from './upstream';
