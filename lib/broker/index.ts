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
  WillDiscardIntent,
  WillPublishIntent,
} from './decisions';
export { planDelivery, outgoingPublish, remainingExpiry } from './delivery';
export type { DeliveryOptions, PlannedCopy, Route } from './delivery';
export { retainedPublish } from './retained';
export { goneBeforeConnect, supersededByNewerConnect, withSessionPresent } from './settle';
export { publishTopic } from './publish';
export { planResend, type InflightEntry } from './flow';
export type {
  AcceptedSubscription,
  InflightAckIntent,
  InflightCompleteIntent,
  InflightReleasedIntent,
  PublishDeliverIntent,
  PublishDeniedIntent,
  Qos2ReceiveIntent,
  Qos2ReleaseIntent,
  RetainedDeleteIntent,
  RetainedMessage,
  RetainedPutIntent,
  RetainedSendIntent,
  RoutingIntent,
  SubscriptionsDeleteIntent,
  SubscriptionsPutIntent,
} from './intents';
export type {
  AckInputs,
  PublishInputs,
  SubscriptionInputs,
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
  SESSION_NEVER_EXPIRES,
  type BrokerConfig,
  type BrokerConfigInput,
} from './config';
export * from './errors';
