/**
 * DynamoDB client factory. Lambda entry points create one client at module scope and reuse it
 * across invocations (`sharedDynamoDbClient`). With an endpoint override (local mode, tests), the
 * client uses dummy static credentials and a fixed region, so no AWS credentials are needed.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

export interface DynamoDbClientOptions {
  /** A DynamoDB-compatible endpoint (DynamoDB Local); absent on AWS */
  endpoint?: string;
  /** Region; on AWS the SDK default (AWS_REGION in Lambda); 'us-east-1' with an endpoint override */
  region?: string;
  /** Attempts per request including the first (default 3) */
  maxAttempts?: number;
  /** TCP connect timeout, ms (default 1000; 5000 with an endpoint override) */
  connectionTimeoutMs?: number;
  /** Whole request timeout, ms (default 3000; 15000 with an endpoint override: a busy JVM is slow) */
  requestTimeoutMs?: number;
}

/** Credentials DynamoDB Local accepts; it checks their shape, not their value. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

/** The client configuration for the options (pure, for tests). */
export function dynamoDbClientConfig(options: DynamoDbClientOptions = {}): DynamoDBClientConfig {
  const local = options.endpoint !== undefined;
  const config: DynamoDBClientConfig = {
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? (local ? 5_000 : 1_000),
      requestTimeout: options.requestTimeoutMs ?? (local ? 15_000 : 3_000),
      throwOnRequestTimeout: true,
    },
  };
  if (local) {
    config.endpoint = options.endpoint;
    config.region = options.region ?? LOCAL_REGION;
    config.credentials = { ...LOCAL_CREDENTIALS };
  } else if (options.region !== undefined) {
    config.region = options.region;
  }
  return config;
}

export function createDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(dynamoDbClientConfig(options));
}

const shared = new Map<string, DynamoDBClient>();

/** One client per process and configuration: call it at module scope, or per invocation, alike. */
export function sharedDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  const key = JSON.stringify(dynamoDbClientConfig(options));
  let client = shared.get(key);
  if (client === undefined) {
    client = createDynamoDbClient(options);
    shared.set(key, client);
  }
  return client;
}

/** How the endpoint reports ConsumedCapacity, for MeteredDynamoDb: an override means DynamoDB Local. */
export function capacityReportingFor(endpoint: string | undefined): 'aws' | 'dynamodb-local' {
  return endpoint === undefined ? 'aws' : 'dynamodb-local';
}
