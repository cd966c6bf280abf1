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
export { planDelivery, outgoingPublish, remainingExpiry, retainedPublish } from './delivery';
export type { Delivery, DeliveryOptions, Route } from './delivery';
export { publishTopic } from './publish';
export { mayDispatch, sendQuota, planResend, type InflightEntry } from './flow';
export type {
  AcceptedSubscription,
  InflightAckIntent,
  InflightCompleteIntent,
  InflightReleasedIntent,
  PublishDeliverIntent,
  Qos2ReceiveIntent,
  Qos2ReleaseIntent,
  RetainedDeleteIntent,
  RetainedMessage,
  RetainedPutIntent,
  RetainedSendIntent,
  RoutingIntent,
  SubscriptionsDeleteIntent,
  SubscriptionsPutIntent,
  TopicAliasSetIntent,
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
