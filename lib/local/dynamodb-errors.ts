/**
 * The errors of the DynamoDB Local launcher (dynamodb-local.ts) and of its JVM (dynamodb-jvm.ts).
 * Each message is the one-line fix or says what DynamoDB Local printed last.
 */

export const DYNAMODB_ENDPOINT_ENV = 'DYNAMODB_ENDPOINT';

export const JAVA_INSTALL_HINT =
  'Java 17+ is required for DynamoDB Local: install it with `apt-get install openjdk-17-jre-headless` ' +
  `or from adoptium.net, or set ${DYNAMODB_ENDPOINT_ENV} to an existing endpoint`;

/** `java` is missing or too old to run DynamoDB Local. The message is the one-line fix. */
export class JavaRequiredError extends Error {
  constructor(options?: { cause?: unknown }) {
    super(JAVA_INSTALL_HINT, options);
    this.name = 'JavaRequiredError';
  }
}

/** DynamoDB Local exited or did not answer in time; the message ends with its last output. */
export class DynamoDbLocalStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DynamoDbLocalStartError';
  }
}

/** The port was taken before the JVM could bind it; the launcher picks another. */
export class PortInUseError extends DynamoDbLocalStartError {}

/** DYNAMODB_ENDPOINT is set but is not an http(s) URL. */
export class InvalidDynamoEndpointError extends Error {
  constructor(value: string, options?: { cause?: unknown }) {
    super(`${DYNAMODB_ENDPOINT_ENV} must be an http(s) URL, got '${value}'`, options);
    this.name = 'InvalidDynamoEndpointError';
  }
}
