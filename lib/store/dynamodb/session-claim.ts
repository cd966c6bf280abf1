/**
 * The conditional write of a session claim. Which condition applies depends on what the claim
 * expects to find, because a single UpdateItem cannot branch on the old item:
 * - 'fresh' (Clean Start 1): new session if the item is missing, expired, or not owned by a newer CONNECT;
 * - 'create' (Clean Start 0, no live session expected): new session if missing or expired;
 * - 'resume' (Clean Start 0, a live session expected): keep the session if live and not owned by a newer CONNECT;
 * - 'assigned' (server-assigned id): like 'create'; a live session means the id is not new.
 * The store switches between 'create' and 'resume' when the failed condition's old item shows the
 * other case, so a stale expectation costs one more request, never a wrong answer.
 *
 * Every mode that may take a live session requires it to belong to the claim's principal, in the
 * condition itself: no read-then-claim race, and a 'create' that finds a session and turns into a
 * 'resume' cannot take another principal's session over (docs/SECURITY.md).
 *
 * Run again (issue 13). A claim only takes a session from a strictly older CONNECT, or from itself
 * once it gave the session up (abandon), so the same claim never applies twice while it owns the
 * session: its resend fails, and the store answers from the item what the first attempt answered.
 * For that the write keeps, beside the session, what the claim found: the previous owner's
 * connection (`pc`), will (`pw`), will due time (`pd`) and Session Expiry Interval (`pi`), copied
 * from the old item by the write itself (release removes them). The write also drops the will that
 * an earlier takeWill or takeDueWill kept for its own resend (`tw`, `rq`).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { epochSeconds } from '../clock';
import type { ClaimRequest } from '../session-port';
import { onlineExpiresAt, sessionEpochOf } from '../session-rules';
import { ExpressionBuilder } from './expressions';
import { REQUEST_TOKEN } from './request-token';
import { sessionCodec, type SessionItem } from './session-codec';

export type ClaimMode = 'fresh' | 'create' | 'resume' | 'assigned';

export interface ClaimWrite {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

export function claimWrite(request: ClaimRequest, mode: ClaimMode, nowMs: number): ClaimWrite {
  const x = new ExpressionBuilder();
  const newSession = mode !== 'resume';
  const fields: Partial<SessionItem> = {
    connectionId: request.connectionId,
    ownerConnectionId: request.connectionId,
    ownerRequestTimeEpoch: request.requestTimeEpoch,
    principal: request.principal,
    protocolVersion: request.protocolVersion,
    sessionExpiryInterval: request.sessionExpiryInterval,
    expiresAt: onlineExpiresAt(nowMs, request.sessionExpiryInterval),
    will: request.will,
  };
  if (newSession) {
    fields.sessionEpoch = sessionEpochOf(request.requestTimeEpoch, request.connectionId);
    fields.createdAt = nowMs;
  }
  const removed = [
    'disconnectedAt',
    'willDueAt',
    'sweepShard',
    TAKEN_WILL,
    REQUEST_TOKEN,
    ...(request.will ? [] : ['will']),
    ...(request.principal === undefined ? ['principal'] : []),
  ];
  const nothing = x.value({ NULL: true });
  const found = Object.entries(FOUND).map(([copy, from]) => `${x.name(copy)} = if_not_exists(${x.name(from)}, ${nothing})`);
  const update = `${x.set(sessionCodec.toAttributes(fields))}, ${found.join(', ')} REMOVE ${removed.map((n) => x.name(n)).join(', ')}`;
  return { UpdateExpression: update, ConditionExpression: claimCondition(x, request, mode, nowMs), ...x.attributes() };
}

/** What a claim copies from the old item for its own resend: copy attribute → old attribute. */
export const FOUND = { pc: 'connectionId', pw: 'will', pd: 'willDueAt', pi: 'sessionExpiryInterval' } as const;

/** The will a takeWill or takeDueWill took, kept under its request token for its resend. */
export const TAKEN_WILL = 'tw';

function claimCondition(x: ExpressionBuilder, request: ClaimRequest, mode: ClaimMode, nowMs: number): string {
  const pk = x.name('clientId');
  const expiresAt = x.name('expiresAt');
  const expired = `(attribute_exists(${expiresAt}) AND ${expiresAt} <= ${x.value({ N: String(epochSeconds(nowMs)) })})`;
  // Placeholders are made only when used: DynamoDB refuses unused expression values.
  const mayTake = () => {
    const owner = x.name('ownerRequestTimeEpoch');
    const ownerConnection = x.name('ownerConnectionId');
    const time = x.value({ N: String(request.requestTimeEpoch) });
    const connection = x.value({ S: request.connectionId });
    const itself = `(${ownerConnection} = ${connection} AND attribute_not_exists(${x.name('connectionId')}))`;
    return `(${owner} < ${time} OR (${owner} = ${time} AND (${ownerConnection} < ${connection} OR ${itself})))`;
  };
  const samePrincipal = () => {
    const principal = x.name('principal');
    return request.principal === undefined ? `attribute_not_exists(${principal})` : `${principal} = ${x.value({ S: request.principal })}`;
  };
  switch (mode) {
    case 'fresh':
      return `attribute_not_exists(${pk}) OR ${expired} OR (${mayTake()} AND ${samePrincipal()})`;
    case 'create':
    case 'assigned':
      return `attribute_not_exists(${pk}) OR ${expired}`;
    case 'resume':
      return `attribute_exists(${pk}) AND NOT ${expired} AND ${mayTake()} AND ${samePrincipal()}`;
  }
}
