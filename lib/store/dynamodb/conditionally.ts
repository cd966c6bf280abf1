/**
 * The one place the DynamoDB adapters turn a ConditionalCheckFailedException into a domain
 * outcome (MeteredDynamoDb only bills the failed write and rethrows). A conditional write settles
 * a race; when its condition fails, the caller names the outcome: a value to return ('stale',
 * 'duplicate', undefined for "nothing to do") or a typed error to throw (lib/store/errors). Any
 * other exception propagates unchanged.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/**
 * Runs `write`; if its condition fails, the result is `onFailed(failure)` instead. `failure.Item`
 * holds the old item when the write asked for `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`.
 */
export async function conditionally<T, F>(
  write: () => Promise<T>,
  onFailed: (failure: ConditionalCheckFailedException) => F,
): Promise<T | F> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return onFailed(error);
    throw error;
  }
}

/** For a write whose failed condition means "someone else got there first: nothing to do". */
export const nothing = (): undefined => undefined;
