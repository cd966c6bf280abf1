/**
 * The SessionStore port: one item per MQTT client id (table `sessions`). It settles who owns a
 * client id's session, whether a CONNECT finds a session [MQTT-3.2.2-2] [MQTT-3.2.2-3], and the Will Message,
 * which it hands out at most once.
 *
 * Ownership. A claim carries the gateway arrival time of its CONNECT (`requestTimeEpoch`); the
 * session item keeps the (requestTimeEpoch, connectionId) of the CONNECT that last claimed it. A
 * claim succeeds only if the item is missing, expired, or its owner's pair is older than the
 * claim's (ties broken by connection id) and its principal is the claim's. So two racing CONNECTs
 * leave the newer one owning the session whichever runs first; the older one gets
 * SessionTakenOverError and the runtime closes it.
 * The pair is kept while the session is offline, so a stale CONNECT cannot claim a session that a
 * newer CONNECT claimed and then left.
 *
 * Session epoch. `sessionEpoch` is an opaque string, unique per session start (derived from the
 * starting claim's requestTimeEpoch and connection id, zero-padded so it sorts in claim order). It
 * changes whenever a new session starts (Clean Start 1 [MQTT-3.1.2-4], or no live session existed)
 * and stays the same when a session is resumed. State kept elsewhere per client id (subscriptions,
 * queued messages) records the epoch it was written under; a reader ignores (and may lazily delete)
 * anything whose epoch differs from the session's, so a clean start never scans. The value stays
 * unique even after TTL deleted the item, which a counter in the item could not guarantee.
 *
 * Expiry (`expiresAt`, epoch seconds, always present). Offline: disconnect time + Session Expiry
 * Interval; 0 makes the session invisible at release (TTL removes the item later), 0xFFFFFFFF puts
 * it ~136 years out. Online: claim time + a lease past API Gateway's 2-hour connection limit + the
 * interval, so a session whose owner vanished without any release still ends eventually.
 *
 * Wills, as this store reads MQTT 5 [MQTT-3.1.2-8], [MQTT-3.1.3-9] and [MQTT-3.1.4-3]: a will is
 * published once its connection has closed and either the Will Delay Interval has passed or the
 * session has ended, whichever is first; it is not published if a new connection resumes the
 * session before the delay has passed. Hence:
 * - release with delay 0 (or v3/v4, or a session that ends now) → publish now;
 *   with delay > 0 → kept with `willDueAt = now + min(delay, expiry)` for the sweeper;
 * - takeover of an online session (claim): the old connection closes now. Its will is returned as
 *   `previousWill` if the delay is 0 or the session ends (Clean Start 1, or a new session); with
 *   Clean Start 0 and a delay > 0 the session is resumed before the delay passed: not published;
 * - claim of an offline session with a deferred will: returned if already due or the session ends
 *   (Clean Start 1 / expired), otherwise cancelled [MQTT-3.1.3-9];
 * - a normal DISCONNECT discards it [MQTT-3.14.4-3]; DISCONNECT 0x04 keeps it for release.
 * Every path that hands out a will removes it in the same conditional write, so it fires at most once.
 *
 * Retries and reruns (issue 13). The SDK resends a write whose response was lost, and a handler
 * that died is run again; each operation recognises its own earlier success instead of taking it
 * for a lost race:
 * - a claim is identified by its CONNECT (requestTimeEpoch, connectionId): the same claim run again
 *   while it still owns the session answers what it answered the first time (Session Present,
 *   epoch, the previous owner and its will). Only a strictly older claim is taken over, so a claim
 *   never applies twice; a session whose epoch this very claim created is never "present" to it;
 * - release is identified by the connection: run again by the same connection it answers
 *   'released' again, and the will it took stays held in the session item (invisible to claims and
 *   the sweeper) until the connection's disconnect path calls `settleWill` after publishing it,
 *   so a disconnect path that died after release still publishes the will on its rerun. While the
 *   will is held and the release is recent, another run answers 'in-progress' instead (two runs at
 *   once must not both publish it); the SDK's resend of the release itself gets the will;
 * - takeWill and takeDueWill keep the will they took under a request token, so that their resend
 *   gets it too; a due will stays held until the sweeper settles it (`settleDueWill`).
 * A claim is also conditional on the principal: a live session of another principal is never
 * claimed (ClientIdOfAnotherPrincipalError), whatever the claim expected to find.
 */
import type { ProtocolVersion, Will } from '../mqtt/types';

export type { Will } from '../mqtt/types';

/** One session item. Times are epoch ms except `expiresAt` (epoch seconds, TTL). */
export interface SessionRecord {
  clientId: string;
  /** The owning connection; absent while the session is offline */
  connectionId?: string;
  /** The connection of the CONNECT that last claimed the session (kept while offline) */
  ownerConnectionId: string;
  /** Gateway arrival time of that CONNECT */
  ownerRequestTimeEpoch: number;
  /** The authenticated principal of that CONNECT; absent: anonymous */
  principal?: string;
  protocolVersion: ProtocolVersion;
  /** Seconds; 0xFFFFFFFF never expires */
  sessionExpiryInterval: number;
  /** Unique per session start; see the module comment */
  sessionEpoch: string;
  /** When this session (epoch) started */
  createdAt: number;
  /** While offline: when the owner went away */
  disconnectedAt?: number;
  will?: Will;
  /** While offline with a deferred will: when it must be published */
  willDueAt?: number;
  expiresAt: number;
}

export interface ClaimRequest {
  clientId: string;
  connectionId: string;
  cleanStart: boolean;
  protocolVersion: ProtocolVersion;
  sessionExpiryInterval: number;
  /** Gateway arrival time of the CONNECT, epoch ms: the newer CONNECT wins */
  requestTimeEpoch: number;
  /** The CONNECT's authenticated principal; absent: anonymous */
  principal?: string;
  /** The CONNECT's will; replaces any stored will */
  will?: Will;
  /** The server assigned the id: claim only if no live session holds it [MQTT-3.2.2-16] */
  assignedClientId?: boolean;
  /**
   * What a recent get() saw ('absent' or 'present'). It only picks which conditional write is tried
   * first (saving a failed write for a first Clean Start 0 CONNECT); it never changes the outcome.
   */
  hint?: 'absent' | 'present';
}

export interface ClaimResult {
  /** Clean Start 0 and a live session existed [MQTT-3.2.2-3]; false otherwise (Clean Start 1: [MQTT-3.2.2-2]) */
  sessionPresent: boolean;
  sessionEpoch: string;
  /** Another connection owned the session: send it DISCONNECT 0x8E (v5) and close it [MQTT-3.1.4-3] */
  previousConnectionId?: string;
  /** A will of the previous owner that must be published now (taken: nobody else gets it) */
  previousWill?: Will;
}

export interface OwnerRef {
  clientId: string;
  connectionId: string;
}

export interface ReleaseRequest extends OwnerRef {
  /** Epoch ms; the store's clock if absent */
  now?: number;
  /** The epoch the connection claimed (its record's): decides a held will after a newer claim */
  sessionEpoch?: string;
  /** The connection's CONNECT had a will (its record's `hasWill`): release holds it for a rerun. @default false */
  hasWill?: boolean;
  /**
   * Every run of this connection's disconnect path is serialized (ordered ingress: they all run in
   * the connection's message group), so a will held by an earlier release belongs to a run that
   * failed: this rerun finishes it now instead of waiting out HELD_WILL_LEASE_MS. @default false
   */
  serialized?: boolean;
}

/** A CONNECT that claimed the session and then failed before its CONNACK (see `abandon`). */
export interface AbandonRequest extends OwnerRef {
  /** The claim started a new session (Session Present 0): nothing stored before it is at stake */
  created: boolean;
  /** The previous owner's will that the claim handed out and the CONNECT did not publish */
  pendingWill?: Will;
  /** Epoch ms; the store's clock if absent */
  now?: number;
}

/** What the runtime does with the will after release. */
export type WillDisposition =
  | { readonly action: 'none' }
  | { readonly action: 'publish'; readonly will: Will }
  /** Stored with `dueAt`; the sweeper publishes it via dueWills/takeDueWill unless a resume cancels it */
  | { readonly action: 'deferred'; readonly will: Will; readonly dueAt: number };

export type ReleaseResult =
  /** The connection does not own the session (stale release after a takeover): nothing changed */
  | { readonly outcome: 'not-owner' }
  /**
   * Another run of this connection's disconnect path released the session moments ago and still
   * holds its will (HELD_WILL_LEASE_MS): leave the rest, the connection record included, to it.
   */
  | { readonly outcome: 'in-progress' }
  | {
      readonly outcome: 'released';
      readonly will: WillDisposition;
      /** The session ended at release (expiry 0): state keyed by its epoch can be dropped */
      readonly sessionEnded: boolean;
      /**
       * The will (if any) is held for this connection until `settleWill`: a rerun of release hands
       * it out again. Call `settleWill` once the will was published (or deferred, or had none).
       */
      readonly willHeld: boolean;
    };

export type TakeWillResult =
  | { readonly outcome: 'taken'; readonly will: Will }
  | { readonly outcome: 'no-will' }
  | { readonly outcome: 'not-owner' };

export type OwnerUpdateResult = 'updated' | 'not-owner';

export interface DueWill {
  clientId: string;
  willDueAt: number;
}

export interface SessionStore {
  /** The live session (expired ones are invisible), strongly consistent. */
  get(clientId: string): Promise<SessionRecord | undefined>;

  /**
   * Makes `connectionId` the owner; see the module comment for the rules.
   * @throws ClientIdOfAnotherPrincipalError if a live session belongs to another principal
   * @throws SessionTakenOverError if a newer CONNECT owns the session
   * @throws ClientIdInUseError for an assigned id that a live session holds
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;

  /** Connection closed: the session goes offline and its will is taken (published or deferred). */
  release(request: ReleaseRequest): Promise<ReleaseResult>;

  /**
   * The connection's disconnect path is done with the will release handed out (published it, or
   * there was none): forget it. Idempotent.
   */
  settleWill(owner: OwnerRef): Promise<void>;

  /**
   * Undoes what can be undone of a claim whose CONNECT failed before CONNACK, so that the client's
   * next CONNECT finds its session: the session goes offline without ending (a session the claim
   * created expires as a released one would), the failed CONNECT's will is dropped (it was never
   * accepted), and `pendingWill` becomes due at once for the next claim or the sweeper.
   */
  abandon(request: AbandonRequest): Promise<OwnerUpdateResult>;

  /** Takes the owner's will now, ignoring any delay (conditional; at most once). */
  takeWill(owner: OwnerRef): Promise<TakeWillResult>;

  /**
   * Deletes the owner's will without publishing it [MQTT-3.14.4-3]. For a connection that no
   * longer owns the session (taken over while its DISCONNECT waited in the ingress queue): removes
   * the will held for it (`holdWill`) and marks it disconnected, so that a later `holdWill` for it
   * holds nothing; answers 'not-owner' as before.
   */
  discardWill(owner: OwnerRef): Promise<OwnerUpdateResult>;

  /**
   * A takeover found the previous connection gone with its close still queued behind its frames
   * (ordered ingress): the will the claim handed out is held for that connection instead of
   * published now, so that its own close decides [MQTT-3.1.2-10]: its DISCONNECT discards it
   * (`discardWill`), a close without one publishes it (`release` of that connection hands a held
   * will out, as after its own release; or `heldWill` when its record is gone). 'discarded': its
   * DISCONNECT was handled already. 'no-session': nothing to hold it in. Idempotent.
   */
  holdWill(owner: OwnerRef, will: Will): Promise<'held' | 'discarded' | 'no-session'>;

  /** The will held for the connection, if any (a strongly consistent read); settle it with `settleWill`. */
  heldWill(owner: OwnerRef): Promise<Will | undefined>;

  /** A v5 DISCONNECT changed the Session Expiry Interval. */
  setExpiry(owner: OwnerRef & { sessionExpiryInterval: number }): Promise<OwnerUpdateResult>;

  /** Offline sessions whose deferred will is due, oldest first; read from the sparse `sweep` index. */
  dueWills(query: { now?: number; limit: number }): Promise<DueWill[]>;

  /**
   * Takes a due deferred will (conditional: one sweeper wins); undefined if gone, not due or resumed.
   * The will stays held, invisible to claims, and falls due again after DUE_WILL_LEASE_MS
   * (./session-reruns) unless `settleDueWill` is called once it was published: a sweeper that died
   * in between is followed by the next one (at least once).
   */
  takeDueWill(clientId: string, now?: number): Promise<Will | undefined>;

  /** The due will a sweeper took was published: forget it (idempotent). */
  settleDueWill(clientId: string): Promise<void>;
}
