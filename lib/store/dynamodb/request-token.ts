/**
 * Idempotent conditional writes. The SDK resends a request whose response it did not get, and
 * Lambda reruns a handler that died; when the first attempt was applied, the resend's condition
 * fails on the caller's own write. So that a write can tell its own earlier attempt from a lost
 * race, it stores a request token (attribute `rq`) with the item and asks for the old item on a
 * failed condition (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`): the same token there means
 * "this write was applied already".
 *
 * A token is made once per logical write, before the first attempt, so that every resend of that
 * request (the SDK resends the same input) carries it. A caller that reruns a whole step (a
 * redelivered ingress message) may pass a token derived from the request so that reruns match too.
 */
import { randomBytes } from 'node:crypto';
import type { AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** The attribute that holds the token of the write that last set the item. */
export const REQUEST_TOKEN = 'rq';

/** A fresh token: 96 random bits, base64url (16 characters). */
export function newRequestToken(): string {
  return randomBytes(12).toString('base64url');
}

/** Whether a failed condition failed on an item that this very write (same token) already set. */
export function isOwnWrite(failure: ConditionalCheckFailedException, token: string): boolean {
  return tokenOf(failure.Item) === token;
}

/** The token stored on an item, if any. */
export function tokenOf(item: Record<string, AttributeValue> | undefined): string | undefined {
  return item?.[REQUEST_TOKEN]?.S;
}
