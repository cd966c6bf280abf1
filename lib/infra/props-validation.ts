/**
 * The validation of the MqttBroker props: a prop out of range, or a combination of props that
 * cannot deploy, throws InvalidBrokerPropsError naming the prop, in the constructor, before any
 * resource exists.
 */
import { RemovalPolicy, Token } from 'aws-cdk-lib';
import { MESSAGE_LIMIT_BYTES, MAX_PACKET_BYTES } from '../api-gateway';
import type { IngressMode, JwtProps, MqttBrokerProps, MqttCapabilities, ResolvedBrokerProps, ThrottleProps } from './props';
import { withDefaults } from './props-defaults';
import { refusedOperationalProp } from './props-schemas';

/** The smallest packet limit worth advertising (a CONNECT with credentials must fit). */
export const MIN_PACKET_SIZE = 128;
/** The MQTT 5 Session Expiry Interval is a Four Byte Integer, in seconds (MQTT 5 section 3.1.2.11.2). */
export const MAX_SESSION_EXPIRY_SECONDS = 0xffffffff;
export const MAX_QUEUE_LIMIT = 100_000;

export const INGRESS_MODES: readonly IngressMode[] = ['ordered', 'direct'];

/** A prop, or a combination of props, the construct refuses. */
export class InvalidBrokerPropsError extends Error {
  constructor(
    readonly prop: string,
    message: string,
  ) {
    super(`MqttBroker: ${prop}: ${message}`);
    this.name = 'InvalidBrokerPropsError';
  }
}

const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** A JWT claim name: printable, no whitespace. */
const CLAIM_NAME = /^[\x21-\x7e]{1,256}$/;

function check(condition: boolean, prop: string, message: string): asserts condition {
  if (!condition) throw new InvalidBrokerPropsError(prop, message);
}

function checkInt(value: number, prop: string, min: number, max: number): void {
  check(Number.isInteger(value) && value >= min && value <= max, prop, `must be an integer from ${min} to ${max}, got ${value}`);
}

function checkJwt(jwt: Required<JwtProps> | undefined): void {
  if (!jwt) return;
  const literal = (value: string) => !Token.isUnresolved(value);
  check(typeof jwt.issuer === 'string' && jwt.issuer.length > 0, 'jwt.issuer', 'must be a non-empty string');
  check(typeof jwt.audience === 'string' && jwt.audience.length > 0, 'jwt.audience', 'must be a non-empty string');
  if (literal(jwt.jwksUrl)) {
    check(URL.canParse(jwt.jwksUrl ?? '') && new URL(jwt.jwksUrl).protocol === 'https:', 'jwt.jwksUrl', `must be an https URL, got '${jwt.jwksUrl}'`);
  }
  check(CLAIM_NAME.test(jwt.usernameClaim), 'jwt.usernameClaim', `must be a claim name without whitespace, got '${jwt.usernameClaim}'`);
}

function checkPacketSize(maxPacketSize: number): void {
  check(
    maxPacketSize <= MAX_PACKET_BYTES,
    'maxPacketSize',
    `at most ${MAX_PACKET_BYTES} bytes: API Gateway messages are at most ${MESSAGE_LIMIT_BYTES} bytes of base64`,
  );
  checkInt(maxPacketSize, 'maxPacketSize', MIN_PACKET_SIZE, MAX_PACKET_BYTES);
}

function checkCapabilities(c: MqttCapabilities): void {
  const at = (name: keyof MqttCapabilities) => `capabilities.${name}`;
  if (c.receiveMaximum !== undefined) checkInt(c.receiveMaximum, at('receiveMaximum'), 1, 65_535);
  if (c.serverKeepAlive !== undefined && c.serverKeepAlive !== null) checkInt(c.serverKeepAlive, at('serverKeepAlive'), 1, 65_535);
  // API Gateway does not order a connection's messages, so an alias could be used before it is defined.
  if (c.topicAliasMaximum !== undefined) checkInt(c.topicAliasMaximum, at('topicAliasMaximum'), 0, 0);
  if (c.maximumQoS !== undefined) check([0, 1, 2].includes(c.maximumQoS), at('maximumQoS'), `must be 0, 1 or 2, got ${c.maximumQoS}`);
}

function checkRemoval(removalPolicy: RemovalPolicy, deletionProtection: boolean): void {
  check(removalPolicy !== RemovalPolicy.SNAPSHOT, 'removalPolicy', 'SNAPSHOT is not supported by DynamoDB tables or log groups');
  check(
    !(removalPolicy === RemovalPolicy.DESTROY && deletionProtection),
    'deletionProtection',
    'cannot be on with removalPolicy DESTROY: CloudFormation could not delete the tables',
  );
}

function checkThrottle(throttle: Required<ThrottleProps>): void {
  checkInt(throttle.rateLimit, 'throttle.rateLimit', 1, 10_000);
  checkInt(throttle.burstLimit, 'throttle.burstLimit', 1, 5_000);
}

function checkSweeperInterval(props: ResolvedBrokerProps): void {
  const minutes = props.sweeperInterval.toSeconds() / 60;
  check(Number.isInteger(minutes) && minutes >= 1, 'sweeperInterval', 'must be a whole number of minutes, at least one');
}

/** Checks every resolved prop; throws on the first one refused. */
function validate(props: ResolvedBrokerProps): void {
  check(STAGE_NAME.test(props.stageName), 'stageName', `must match ${STAGE_NAME.source}, got '${props.stageName}'`);
  checkJwt(props.jwt);
  checkPacketSize(props.maxPacketSize);
  checkCapabilities(props.capabilities);
  checkInt(props.maxSessionExpirySeconds, 'maxSessionExpiry', 0, MAX_SESSION_EXPIRY_SECONDS);
  checkInt(props.maxQueuedMessages, 'maxQueuedMessages', 0, MAX_QUEUE_LIMIT);
  checkInt(props.memorySize, 'memorySize', 128, 10_240);
  check(['debug', 'info', 'warn', 'error'].includes(props.logLevel), 'logLevel', `must be debug, info, warn or error, got '${props.logLevel}'`);
  checkRemoval(props.removalPolicy, props.deletionProtection);
  check(props.alarmEmail === undefined || EMAIL.test(props.alarmEmail), 'alarmEmail', `not an e-mail address: '${props.alarmEmail}'`);
  checkThrottle(props.throttle);
  checkSweeperInterval(props);
  check(INGRESS_MODES.includes(props.ingress), 'ingress', `must be ordered or direct, got '${props.ingress}'`);
}

/** Applies the defaults and validates; throws InvalidBrokerPropsError naming the prop. */
export function resolveBrokerProps(props: MqttBrokerProps = {}): ResolvedBrokerProps {
  // The operational props (custom domain, publish rate, concurrency, backup, budget) as given: zod.
  const refused = refusedOperationalProp(props);
  if (refused) throw new InvalidBrokerPropsError(refused.prop, refused.message);
  const resolved = withDefaults(props);
  validate(resolved);
  return resolved;
}
