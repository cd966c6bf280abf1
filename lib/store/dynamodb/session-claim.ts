/**
 * The conditional write of a session claim. Which condition applies depends on what the claim
 * expects to find, because a single UpdateItem cannot branch on the old item:
 * - 'fresh' (Clean Start 1): new session if the item is missing, expired, or not owned by a newer CONNECT;
 * - 'create' (Clean Start 0, no live session expected): new session if missing or expired;
 * - 'resume' (Clean Start 0, a live session expected): keep the session if live and not owned by a newer CONNECT;
 * - 'assigned' (server-assigned id): like 'create'; a live session means the id is not new.
 * The store switches between 'create' and 'resume' when the failed condition's old item shows the
 * other case, so a stale expectation costs one more request, never a wrong answer.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { epochSeconds } from '../clock';
import type { ClaimRequest } from '../session-port';
import { onlineExpiresAt, sessionEpochOf } from '../session-rules';
import { ExpressionBuilder } from './expressions';
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
  const removed = ['disconnectedAt', 'willDueAt', 'sweepShard', ...(request.will ? [] : ['will']), ...(request.principal === undefined ? ['principal'] : [])];
  const update = `${x.set(sessionCodec.toAttributes(fields))} REMOVE ${removed.map((n) => x.name(n)).join(', ')}`;
  return { UpdateExpression: update, ConditionExpression: claimCondition(x, request, mode, nowMs), ...x.attributes() };
}

function claimCondition(x: ExpressionBuilder, request: ClaimRequest, mode: ClaimMode, nowMs: number): string {
  const pk = x.name('clientId');
  const expiresAt = x.name('expiresAt');
  const expired = `(attribute_exists(${expiresAt}) AND ${expiresAt} <= ${x.value({ N: String(epochSeconds(nowMs)) })})`;
  // Placeholders are made only when used: DynamoDB refuses unused expression values.
  const notOlder = () => {
    const owner = x.name('ownerRequestTimeEpoch');
    const time = x.value({ N: String(request.requestTimeEpoch) });
    const connection = x.value({ S: request.connectionId });
    return `(${owner} < ${time} OR (${owner} = ${time} AND ${x.name('ownerConnectionId')} <= ${connection}))`;
  };
  switch (mode) {
    case 'fresh':
      return `attribute_not_exists(${pk}) OR ${expired} OR ${notOlder()}`;
    case 'create':
    case 'assigned':
      return `attribute_not_exists(${pk}) OR ${expired}`;
    case 'resume':
      return `attribute_exists(${pk}) AND NOT ${expired} AND ${notOlder()}`;
  }
}
