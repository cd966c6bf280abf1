/**
 * Window slots given back (lib/store/dynamodb/message-window.ts `inflight`): a reservation whose
 * invocation failed before it stored its message, or a complete cut short between deleting the
 * message and freeing its id, leaves a packet id in the counter's `ids` with no in-flight item.
 * Every resume reads the counter and the in-flight items in one Query; the ids without an item are
 * given back with one conditional UpdateItem, if no reservation was taken since
 * RECLAIM_AFTER_SECONDS ago (checked in the same write): an invocation that reserved earlier has
 * ended by then (Lambda runs at most 15 minutes), so it can no longer store one of them.
 */
import { epochSeconds } from '../clock';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import { COUNTER_KEY, itemKeyOf } from './message-codec';
import { RECLAIM_AFTER_SECONDS, type MessageTable } from './message-table';

/** Slots given back by one reclaim at most (the rest at the next resume): a bounded condition. */
export const RECLAIM_BATCH = 50;

/**
 * Gives back the slots of reservations whose message was never stored, if no reservation was
 * taken since RECLAIM_AFTER_SECONDS ago (else an invocation may still store one of them).
 */
export async function reclaimSlots(table: MessageTable, clientId: string, sessionEpoch: string, packetIds: number[], now: number): Promise<void> {
  const x = new ExpressionBuilder();
  const inflight = x.name('inflight');
  const ids = x.name('ids');
  const contained = packetIds.map((id) => `contains(${ids}, ${x.value({ N: String(id) })})`).join(' AND ');
  await conditionally(
    () =>
      table.db.updateItem({
        TableName: table.tableName,
        Key: itemKeyOf(clientId, COUNTER_KEY),
        UpdateExpression: `SET ${inflight} = ${inflight} - ${x.value({ N: String(packetIds.length) })} DELETE ${ids} ${x.value({ NS: packetIds.map(String) })}`,
        ConditionExpression:
          `${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND ${contained} AND (attribute_not_exists(${x.name('reservedAt')}) ` +
          `OR ${x.name('reservedAt')} <= ${x.value({ N: String(epochSeconds(now) - RECLAIM_AFTER_SECONDS) })})`,
        ...x.attributes(),
      }),
    nothing, // a reservation or an ack came meanwhile: the next resume tries again
  );
}
