/**
 * Message TTLs follow the longest session the broker grants (issue 13, defect 7): the runtime
 * built from a configuration whose Maximum Session Expiry Interval is 90 days writes message items
 * that DynamoDB's TTL keeps at least that long, plus the time a session may first stay online.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../../lib/broker';
import { silentLogger } from '../../../lib/log';
import { createRuntime } from '../../../lib/runtime/deps';
import { messageTtlSeconds } from '../../../lib/store/message-port';
import { useDynamoTables } from '../../helpers/dynamodb';

const db = await useDynamoTables({ tables: ['messages'] });
const DAYS = 24 * 3600;

describe.each([7 * DAYS, 90 * DAYS])('message TTL with a maximum session expiry of %i s [MQTT-3.1.2-23]', (maximumSessionExpiryInterval) => {
  it('writes queued messages and QoS 2 receipts that outlive the longest session', async () => {
    const deps = createRuntime({
      tables: db.names,
      dynamodbEndpoint: db.endpoint,
      managementEndpoint: 'http://127.0.0.1:1',
      localManagement: true,
      broker: parseBrokerConfig({ maximumSessionExpiryInterval }),
      log: silentLogger,
    });
    const client = `client-${randomUUID()}`;
    const epoch = '000001700000000/conn-a';
    const before = Math.floor(Date.now() / 1000);
    await deps.messages.receiveQos2(client, epoch, 5);
    await deps.messages.enqueue(client, epoch, { packet: { type: 'publish', topic: 't', payload: new Uint8Array(), qos: 1, retain: false, dup: false }, messageExpiresAt: null }, 10);
    for (const itemKey of ['in#00005', 'q#0000000000000001']) {
      const { Item } = await db.client.send(new GetItemCommand({ TableName: db.names.messages, Key: { clientId: { S: client }, itemKey: { S: itemKey } }, ConsistentRead: true }));
      const ttl = Number(Item?.expiresAt?.N);
      // Online up to API Gateway's 2 hours (and the claim's lease), then offline for the whole interval.
      expect(ttl - before).toBeGreaterThanOrEqual(maximumSessionExpiryInterval + 2 * 3600 + 10 * 60);
      expect(ttl - before).toBeLessThanOrEqual(messageTtlSeconds(maximumSessionExpiryInterval) + 5);
    }
  });
});
