/**
 * Inbound QoS 2 receipts of the DynamoDB MessageStore: one item `in#{packetId}` per PUBLISH
 * received and not yet released. A conditional PutItem records it, so a retried or reordered
 * PUBLISH is 'duplicate'; PUBREL deletes it with one conditional DeleteItem.
 */
import { epochSeconds, isExpired } from '../clock';
import { conditionally } from './conditionally';
import { ExpressionBuilder } from './expressions';
import { SK, itemKeyOf, receiptKey } from './message-codec';
import type { MessageTable } from './message-table';

export class Qos2Receipts {
  constructor(private readonly table: MessageTable) {}

  async receive(clientId: string, sessionEpoch: string, packetId: number): Promise<'new' | 'duplicate'> {
    const now = this.table.clock();
    const x = new ExpressionBuilder();
    return conditionally(
      async () => {
        await this.table.db.putItem({
          TableName: this.table.tableName,
          Item: {
            ...itemKeyOf(clientId, receiptKey(packetId)),
            epoch: { S: sessionEpoch },
            expiresAt: { N: String(this.table.expiresAt(now)) },
          },
          // absent, expired or of an older session: new. A newer session's receipt: a stale caller
          ConditionExpression:
            `attribute_not_exists(${x.name(SK)}) OR ${x.name('epoch')} < ${x.value({ S: sessionEpoch })} ` +
            `OR ${x.name('expiresAt')} <= ${x.value({ N: String(epochSeconds(now)) })}`,
          ...x.attributes(),
        });
        return 'new' as const;
      },
      () => 'duplicate' as const,
    );
  }

  async release(clientId: string, sessionEpoch: string, packetId: number): Promise<'released' | 'unknown'> {
    const x = new ExpressionBuilder();
    return conditionally(
      async () => {
        const { Attributes } = await this.table.db.deleteItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, receiptKey(packetId)),
          ConditionExpression: `${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`,
          ...x.attributes(),
          ReturnValues: 'ALL_OLD',
        });
        return isExpired(Number(Attributes?.expiresAt?.N ?? 0), this.table.clock()) ? 'unknown' : 'released';
      },
      () => 'unknown' as const,
    );
  }
}
