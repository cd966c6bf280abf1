/**
 * What a session claim answers (./session-claim has the write): from the old item the write
 * returned, from the item its failed condition returned when the claim was applied already (its
 * resend or rerun, issue 13), or the next mode to try, or the domain error.
 */
import type { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ClientIdInUseError, ClientIdOfAnotherPrincipalError, SessionTakenOverError } from '../errors';
import { isSameClaim, mayClaim, presentTo, samePrincipal } from '../session-reruns';
import type { ClaimRequest, ClaimResult, SessionRecord } from '../session-port';
import { isLive, previousWillOnClaim, sessionEpochOf } from '../session-rules';
import type { Item } from './marshal';
import type { ClaimMode } from './session-claim';
import { decodeSession, willCodec } from './session-codec';

/** A claim flips between 'create' and 'resume' only when another writer changed the item meanwhile. */
const MAX_CLAIM_ATTEMPTS = 4;

export function claimResult(request: ClaimRequest, mode: ClaimMode, old: SessionRecord | undefined, now: number): ClaimResult {
  const resumed = mode === 'resume';
  const result: ClaimResult = {
    sessionPresent: presentTo(request, resumed, old?.sessionEpoch),
    sessionEpoch: resumed && old ? old.sessionEpoch : sessionEpochOf(request.requestTimeEpoch, request.connectionId),
  };
  if (old?.connectionId !== undefined && old.connectionId !== request.connectionId) {
    result.previousConnectionId = old.connectionId;
  }
  const previousWill = previousWillOnClaim(old, !resumed, now);
  if (previousWill) result.previousWill = previousWill;
  return result;
}

/**
 * The answer of a claim that was applied already (its resend, or a rerun of its CONNECT): rebuilt
 * from the item, with what the claim found there (FOUND) standing for the old item.
 */
function ownClaimResult(request: ClaimRequest, item: Item, session: SessionRecord, now: number): ClaimResult {
  const created = session.sessionEpoch === sessionEpochOf(request.requestTimeEpoch, request.connectionId);
  const found: SessionRecord = {
    ...session,
    connectionId: item.pc?.S,
    will: item.pw === undefined ? undefined : willCodec.decode(item.pw),
    willDueAt: item.pd?.N === undefined ? undefined : Number(item.pd.N),
    sessionExpiryInterval: item.pi?.N === undefined ? session.sessionExpiryInterval : Number(item.pi.N),
    expiresAt: Number.MAX_SAFE_INTEGER, // a resumed session was live; a created one ends the old anyway
  };
  const result: ClaimResult = { sessionPresent: !created, sessionEpoch: session.sessionEpoch };
  if (found.connectionId !== undefined && found.connectionId !== request.connectionId) result.previousConnectionId = found.connectionId;
  const previousWill = previousWillOnClaim(found, created, now);
  if (previousWill) result.previousWill = previousWill;
  return result;
}

/**
 * After a claim's condition failed: this very claim's answer if it was applied already, else the
 * mode to try next, or the domain error. An assigned id that a live session holds is in use; a
 * live session of another principal is refused; a fresh start, an older claim or too many flips lost.
 */
export function afterFailedClaim(
  request: ClaimRequest,
  mode: ClaimMode,
  failure: ConditionalCheckFailedException,
  attempt: number,
  now: number,
): ClaimMode | ClaimResult {
  const old = decodeSession(failure.Item);
  const live = isLive(old, now);
  if (live && old.connectionId === request.connectionId && isSameClaim(request, old)) {
    return ownClaimResult(request, failure.Item as Item, old, now);
  }
  if (mode === 'assigned') throw new ClientIdInUseError(request.clientId, { cause: failure });
  if (live && !samePrincipal(request, old)) throw new ClientIdOfAnotherPrincipalError(request.clientId, { cause: failure });
  if ((live && !mayClaim(request, old)) || mode === 'fresh' || attempt >= MAX_CLAIM_ATTEMPTS) {
    throw new SessionTakenOverError(request.clientId, request.connectionId, { cause: failure });
  }
  return live ? 'resume' : 'create';
}
