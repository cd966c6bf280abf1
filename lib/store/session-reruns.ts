/**
 * The rules for operations run again (issue 13), shared by both SessionStore adapters (pure). See
 * ./session-port, "Retries and reruns".
 */
import type { ClaimRequest, SessionRecord, Will, WillDisposition } from './session-port';
import { isLive, sessionEpochOf, willOnRelease } from './session-rules';

/**
 * How long a due will that a sweeper took stays its own: unless the sweeper settles it
 * (published), it falls due again after this and the next sweep takes it. Two sweeps apart.
 */
export const DUE_WILL_LEASE_MS = 120_000;

/**
 * How long a will that release holds belongs to the run of the disconnect path that released it:
 * another run of the same connection's path within this time (a \$disconnect beside a delivery's
 * 410, or the sweeper) finds the release 'in-progress' and leaves the will and the connection
 * record to it; after it, the first run is taken for dead and the rerun finishes the job.
 */
export const HELD_WILL_LEASE_MS = 60_000;

type Owner = Pick<SessionRecord, 'ownerRequestTimeEpoch' | 'ownerConnectionId'>;

/** The session was last claimed by this very CONNECT. */
export function isSameClaim(claim: Pick<ClaimRequest, 'requestTimeEpoch' | 'connectionId'>, owner: Owner): boolean {
  return claim.requestTimeEpoch === owner.ownerRequestTimeEpoch && claim.connectionId === owner.ownerConnectionId;
}

/**
 * A claim may take a session last claimed by a strictly older CONNECT (arrival time, ties broken by
 * connection id), or by itself if that claim was given up (offline): the rerun of an abandoned
 * CONNECT. A claim never applies twice while it owns the session, so its rerun answers its result.
 */
export function mayClaim(claim: Pick<ClaimRequest, 'requestTimeEpoch' | 'connectionId'>, old: SessionRecord): boolean {
  if (isSameClaim(claim, old)) return old.connectionId === undefined;
  if (claim.requestTimeEpoch !== old.ownerRequestTimeEpoch) return claim.requestTimeEpoch > old.ownerRequestTimeEpoch;
  return claim.connectionId > old.ownerConnectionId;
}

/** The live session belongs to the claim's principal (both anonymous counts). */
export function samePrincipal(claim: Pick<ClaimRequest, 'principal'>, old: Pick<SessionRecord, 'principal'>): boolean {
  return (claim.principal ?? undefined) === (old.principal ?? undefined);
}

/**
 * Session Present for a claim that kept the session's epoch: a session that this very claim
 * created (and then gave up) was never seen by the client, so it is not present [MQTT-3.2.2-3].
 */
export function presentTo(claim: Pick<ClaimRequest, 'requestTimeEpoch' | 'connectionId'>, resumed: boolean, epoch: string | undefined): boolean {
  return resumed && epoch !== sessionEpochOf(claim.requestTimeEpoch, claim.connectionId);
}

/** A will that release took and holds for its connection, as a rerun hands it out again. */
export function heldWillDisposition(will: Will | null, session: SessionRecord | undefined, nowMs: number): WillDisposition {
  if (will === null) return { action: 'none' };
  if (session === undefined) return { action: 'publish', will };
  // The item as release saw it: the session is counted live (it was, while its owner was online).
  return willOnRelease({ ...session, will, expiresAt: Number.MAX_SAFE_INTEGER }, nowMs);
}

/** The session ended at release and no newer claim has taken it since. */
export function endedFor(connectionId: string, session: SessionRecord | undefined, nowMs: number): boolean {
  return session !== undefined && session.ownerConnectionId === connectionId && session.connectionId === undefined && !isLive(session, nowMs);
}
