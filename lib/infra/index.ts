export { MAX_PACKET_BYTES } from '../api-gateway';
export { MqttBroker, SWEEPER_MAX_EVENT_AGE, publishRateEnvironment, runtimeEnvironment, type BrokerFunctions } from './mqtt-broker';
export { BACKED_UP_TABLES, type BrokerBackup } from './backup';
export { INGRESS_MAX_RECEIVES, type IngressQueue } from './ingress';
export { StratusStack, connectExample, type StratusStackProps } from './stratus-stack';
export type {
  BackupProps,
  BudgetProps,
  CustomDomainProps,
  PublishRateProps,
  ResolvedBackupProps,
  IngressMode,
  JwtProps,
  MqttBrokerProps,
  MqttCapabilities,
  ResolvedBrokerProps,
  StratusLogLevel,
  ThrottleProps,
} from './props';
export { resolveBrokerProps, InvalidBrokerPropsError } from './props-validation';
export { FUNCTION_SPECS, FUNCTION_IDS, tableActions, type FunctionId, type FunctionSpec, type TableAction } from './access';
export { METRICS_NAMESPACE, METRIC_NAMES, ALL_METRIC_NAMES, type StratusMetricName } from './metrics';
export { CONTEXT_KEYS, readAppContext, type AppContext } from './context';
