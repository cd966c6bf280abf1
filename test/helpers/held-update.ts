/**
 * A write held between two steps of a path, so a test can run another path in between: the first
 * `updateItem` that `matches` waits until `letGo()`; every other call goes straight through to the
 * real client (DynamoDB Local).
 *
 *   const hold = holdFirstUpdate(db.metered, (input) => isRelease(input));
 *   const store = new DynamoMessageStore(hold.db, table);
 */
import type { UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import type { MeteredDynamoDb } from '../../lib/store/dynamodb/metered';

export interface HeldUpdate {
  readonly db: MeteredDynamoDb;
  /** The matching write has arrived and waits. */
  isHeld(): boolean;
  letGo(): void;
}

export function holdFirstUpdate(metered: MeteredDynamoDb, matches: (input: UpdateItemCommandInput) => boolean): HeldUpdate {
  let held = false;
  let letGo!: () => void;
  const gate = new Promise<void>((resolve) => (letGo = resolve));
  const db = new Proxy(metered, {
    get(target, property, receiver) {
      if (property !== 'updateItem') return Reflect.get(target, property, receiver);
      return async (input: UpdateItemCommandInput) => {
        if (!held && matches(input)) {
          held = true;
          await gate;
        }
        return target.updateItem(input);
      };
    },
  });
  return { db, isHeld: () => held, letGo };
}

/** The slot release of a take (`ADD queued -n`), not an enqueue's slot (which adds to `queueTail`). */
export function isSlotRelease(input: UpdateItemCommandInput): boolean {
  const names = Object.values(input.ExpressionAttributeNames ?? {});
  return names.includes('queued') && !names.includes('queueTail') && /\bADD\b/.test(String(input.UpdateExpression));
}
