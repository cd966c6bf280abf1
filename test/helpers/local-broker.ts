/**
 * A local broker for one integration test file: strict mode (behaves like API Gateway) on a free
 * port, on this run's DynamoDB Local with the file's own table prefix, no sweeper timer, logging errors only (test/helpers/log.ts).
 * `dispose()` stops it and deletes its tables; call it in afterAll.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startLocalBroker, type LocalBroker, type LocalBrokerOptions } from '../../lib/local/local-broker';
import { createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { deleteTables } from '../../lib/store/dynamodb/tables';
import { dynamoDbEndpoint } from './dynamodb';
import { eventually } from './eventually';
import { testLogger } from './log';

export interface TestBroker extends LocalBroker {
  dispose(): Promise<void>;
  /**
   * Resolves once the broker has handled the close of `clientId`'s connection: its connection
   * record is gone and the ingress queue has drained (the disconnect path ran to its end). A
   * client's socket closes before the gateway's `$disconnect` is queued and handled, so a test
   * that needs the session offline waits for this.
   */
  untilDisconnected(clientId: string): Promise<void>;
}

export async function startTestBroker(options: LocalBrokerOptions = {}): Promise<TestBroker> {
  const broker = await startLocalBroker({
    dynamodbEndpoint: dynamoDbEndpoint(),
    tablePrefix: `t-${randomUUID().slice(0, 12)}-`,
    sweepIntervalMs: 0,
    log: testLogger,
    ...options,
    gateway: { port: 0, strict: true, ...options.gateway },
  });
  return {
    ...broker,
    untilDisconnected: async (clientId) => {
      const client = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
      try {
        await eventually(async () => {
          const out = await client.send(
            new ScanCommand({
              TableName: broker.tables.connections,
              ConsistentRead: true,
              FilterExpression: 'clientId = :c',
              ExpressionAttributeValues: { ':c': { S: clientId } },
            }),
          );
          return (out.Items ?? []).length === 0;
        });
      } finally {
        client.destroy();
      }
      await broker.ingressDrained();
    },
    dispose: async () => {
      await broker.stop();
      const client = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
      try {
        await deleteTables(client, broker.tables);
      } finally {
        client.destroy();
      }
    },
  };
}
