/**
 * Inbound QoS 2 receipts of the DynamoDB MessageStore: one item `in#{packetId}` per PUBLISH
 * received. A conditional PutItem records it, so a retried or reordered PUBLISH is 'duplicate'
 * [MQTT-4.3.3-10]; PUBREL marks it released (`rel`, the releasing connection's order stamp) with
 * one conditional UpdateItem, so the packet id is new again [MQTT-4.3.3-12] for that connection
 * and newer ones, while a late PUBLISH of an older connection of the session (handled after the
 * PUBREL on the new one) is still a duplicate. A released receipt keeps for RELEASED_RECEIPT_TTL_SECONDS.
 *
 * Both writes carry a request token (./request-token.ts): a write the SDK sends again after its
 * response was lost finds its own token in the old item and keeps its first answer, instead of
 * taking itself for a duplicate (PUBREC sent, message never routed). The receipt's token also
 * names it for `forget`: a PUBLISH whose handling failed after (or while) its receipt was written
 * undoes its own receipt, never another write's.
 */
import { epochSeconds } from '../clock';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import { SK, itemKeyOf, receiptKey } from './message-codec';
import { NEWEST_CONNECTION, OLDEST_CONNECTION, RELEASED_RECEIPT_TTL_SECONDS } from '../message-port';
import type { MessageTable } from './message-table';
import { REQUEST_TOKEN, isOwnWrite, newRequestToken } from './request-token';

export class Qos2Receipts {
  constructor(private readonly table: MessageTable) {}

  async receive(clientId: string, sessionEpoch: string, packetId: number, from = NEWEST_CONNECTION, token = newRequestToken()): Promise<'new' | 'duplicate'> {
    const now = this.table.clock();
    const x = new ExpressionBuilder();
    const epoch = x.name('epoch');
    const rel = x.name('rel');
    return conditionally(
      async () => {
        await this.table.db.putItem({
          TableName: this.table.tableName,
          Item: {
            ...itemKeyOf(clientId, receiptKey(packetId)),
            epoch: { S: sessionEpoch },
            by: { S: from },
            [REQUEST_TOKEN]: { S: token },
            expiresAt: { N: String(this.table.expiresAt(now)) },
          },
          // New: absent, expired, of an older session, or released by this connection or an older
          // one. A newer session's receipt: a stale caller. Released by a newer connection: a late
          // PUBLISH of a superseded connection, a duplicate.
          ConditionExpression:
            `attribute_not_exists(${x.name(SK)}) OR ${epoch} < ${x.value({ S: sessionEpoch })} ` +
            `OR ${x.name('expiresAt')} <= ${x.value({ N: String(epochSeconds(now)) })} ` +
            `OR (${epoch} = ${x.value({ S: sessionEpoch })} AND attribute_exists(${rel}) AND ${rel} <= ${x.value({ S: from })})`,
          ...x.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return 'new' as const;
      },
      // Our own write, applied by an attempt whose response was lost: still new.
      (failure) => (isOwnWrite(failure, token) ? ('new' as const) : ('duplicate' as const)),
    );
  }

  /**
   * Deletes the receipt `token` wrote, if it is still that one and not released (a release writes
   * its own token): one conditional DeleteItem. A failed condition means there is nothing of ours
   * to undo (never applied, already undone, or released), so it is not an error.
   */
  async forget(clientId: string, sessionEpoch: string, packetId: number, token: string): Promise<void> {
    const x = new ExpressionBuilder();
    await conditionally(
      async () => {
        await this.table.db.deleteItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, receiptKey(packetId)),
          ConditionExpression:
            `${x.name(REQUEST_TOKEN)} = ${x.value({ S: token })} AND ${x.name('epoch')} = ${x.value({ S: sessionEpoch })} ` +
            `AND attribute_not_exists(${x.name('rel')})`,
          ...x.attributes(),
        });
      },
      nothing,
    );
  }

  async release(clientId: string, sessionEpoch: string, packetId: number, from = OLDEST_CONNECTION): Promise<'released' | 'unknown'> {
    const now = this.table.clock();
    const token = newRequestToken();
    const x = new ExpressionBuilder();
    return conditionally(
      async () => {
        await this.table.db.updateItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, receiptKey(packetId)),
          UpdateExpression:
            `SET ${x.name('rel')} = ${x.value({ S: from })}, ${x.name(REQUEST_TOKEN)} = ${x.value({ S: token })}, ` +
            `${x.name('expiresAt')} = ${x.value({ N: String(epochSeconds(now) + RELEASED_RECEIPT_TTL_SECONDS) })}`,
          ConditionExpression:
            `${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND attribute_not_exists(${x.name('rel')}) ` +
            `AND ${x.name('expiresAt')} > ${x.value({ N: String(epochSeconds(now)) })}`,
          ...x.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return 'released' as const;
      },
      (failure) => (isOwnWrite(failure, token) ? ('released' as const) : ('unknown' as const)),
    );
  }
}
