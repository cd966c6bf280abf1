/**
 * Vitest globalSetup of the `integration` project: one DynamoDB Local per test run (or the endpoint
 * in DYNAMODB_ENDPOINT), handed to test files as `inject('dynamoDbEndpoint')`; see
 * test/helpers/dynamodb.ts for how a file gets its own tables. Runs in the main vitest process, so
 * it must not import 'vitest' at runtime.
 */
import type { TestProject } from 'vitest/node';
import { provideDynamoDb } from '../lib/local/dynamodb-local';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The DynamoDB endpoint shared by every test file of the run */
    dynamoDbEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamo = await provideDynamoDb();
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
