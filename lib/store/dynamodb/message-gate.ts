/**
 * The session's gate on the DynamoDB MessageStore's counter item (lib/store/message-port.ts
 * `Gate`, stored as lib/store/gate.ts writes it): held by a resume, opened when its backlog is
 * out, closed with its connection. Each step is one conditional UpdateItem of the counter, the
 * item every reservation writes, so a reservation and a gate change never interleave.
 */
import { gateValue } from '../gate';
import type { GateOpening } from '../message-port';
import { conditionally, nothing } from './conditionally';
import { ExpressionBuilder } from './expressions';
import { COUNTER_KEY, counterFrom, itemKeyOf } from './message-codec';
import { REQUEST_TOKEN, newRequestToken } from './request-token';
import { MAX_ATTEMPTS, MessageStoreRetryError, currentEpoch, isCurrent, supersedes, type MessageTable } from './message-table';

export class SessionGate {
  constructor(private readonly table: MessageTable) {}

  /** SET gate = held#{connection}, creating the counter if the session has none yet; the queue count. */
  async hold(clientId: string, sessionEpoch: string, connectionId: string): Promise<{ queued: number }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.table.clock();
      const x = new ExpressionBuilder();
      const result = await conditionally(
        async () => {
          const { Attributes } = await this.table.db.updateItem({
            TableName: this.table.tableName,
            Key: itemKeyOf(clientId, COUNTER_KEY),
            UpdateExpression:
              `SET ${x.name('epoch')} = ${x.value({ S: sessionEpoch })}, ` +
              `${x.name('gate')} = ${x.value({ S: gateValue('held', connectionId) })}, ${this.table.ttl(x, now)}`,
            ConditionExpression: currentEpoch(x, sessionEpoch, now),
            ...x.attributes(),
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          });
          return { held: Number(Attributes?.queued?.N ?? '0') };
        },
        (failure) => counterFrom(failure.Item),
      );
      if (result !== undefined && 'held' in result) return { queued: result.held };
      const old = result;
      if (old !== undefined && (isCurrent(old, sessionEpoch, now) || supersedes(old, sessionEpoch, now))) return { queued: 0 }; // stale caller
      if (old !== undefined) await this.table.resetCounter(clientId, sessionEpoch);
    }
    throw new MessageStoreRetryError(clientId, 'holdGate');
  }

  /** SET gate = open#{connection}, if still held by it and nothing waits while the window has room. */
  async open(clientId: string, sessionEpoch: string, connectionId: string, receiveMaximum: number, force: boolean): Promise<GateOpening> {
    const x = new ExpressionBuilder();
    const token = newRequestToken();
    const epoch = `${x.name('epoch')} = ${x.value({ S: sessionEpoch })}`;
    const held = `${x.name('gate')} = ${x.value({ S: gateValue('held', connectionId) })}`;
    // Unless forced: nothing waits, or the window is full (an ack then drains the queue).
    const drained = force
      ? ''
      : ` AND (attribute_not_exists(${x.name('queued')}) OR ${x.name('queued')} = ${x.value({ N: '0' })} ` +
        `OR ${x.name('inflight')} >= ${x.value({ N: String(receiveMaximum) })})`;
    return conditionally(
      async () => {
        await this.table.db.updateItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, COUNTER_KEY),
          UpdateExpression: `SET ${x.name('gate')} = ${x.value({ S: gateValue('open', connectionId) })}, ${x.name(REQUEST_TOKEN)} = ${x.value({ S: token })}`,
          ConditionExpression: `${epoch} AND ${held}${drained}`,
          ...x.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return 'opened' as const;
      },
      (failure) => {
        const old = counterFrom(failure.Item);
        if (old?.epoch !== sessionEpoch) return 'lost';
        if (old.rq === token) return 'opened'; // our own write, applied by an attempt whose response was lost
        return old.gate === gateValue('held', connectionId) ? 'queued' : 'lost';
      },
    );
  }

  /** SET gate = closed, if the gate is none yet, or held by or open to this connection. */
  async close(clientId: string, sessionEpoch: string, connectionId: string): Promise<void> {
    const x = new ExpressionBuilder();
    const gate = x.name('gate');
    await conditionally(
      () =>
        this.table.db.updateItem({
          TableName: this.table.tableName,
          Key: itemKeyOf(clientId, COUNTER_KEY),
          UpdateExpression: `SET ${gate} = ${x.value({ S: gateValue('closed') })}`,
          ConditionExpression:
            `${x.name('epoch')} = ${x.value({ S: sessionEpoch })} AND (attribute_not_exists(${gate}) ` +
            `OR ${gate} = ${x.value({ S: gateValue('held', connectionId) })} OR ${gate} = ${x.value({ S: gateValue('open', connectionId) })})`,
          ...x.attributes(),
        }),
      nothing, // no counter, another session's, or a newer connection's gate: nothing to close
    );
  }
}
