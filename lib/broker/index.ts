/** The broker core: pure decisions, no I/O. */

export { handlePacket } from './handle';
export { decideOnError, reactionTo, v4ReturnCodeFor, type Reaction } from './reaction';
export type {
  CloseDirective,
  CloseReason,
  Decision,
  Intent,
  MarkConnectedIntent,
  OutboundPacket,
  SessionClaimIntent,
  SessionSetExpiryIntent,
  Unhandled,
  WillDiscardIntent,
  WillPublishIntent,
} from './decisions';
export type {
  AuthVerdict,
  BrokerContext,
  ClientLimits,
  ConnectInputs,
  ConnectionParams,
  ConnectionState,
  MqttConnectionState,
  OpenConnectionState,
  SessionSummary,
} from './state';
export {
  brokerConfigSchema,
  defaultBrokerConfig,
  parseBrokerConfig,
  InvalidBrokerConfigError,
  MAX_PACKET_SIZE_CEILING,
  SESSION_NEVER_EXPIRES,
  type BrokerConfig,
  type BrokerConfigInput,
} from './config';
export * from './errors';
