/**
 * Per-client message state, all under the client id (table `messages`):
 * - a packet id allocator for outbound QoS 1/2 PUBLISH, unique per session [MQTT-2.2.1-4]; the
 *   same conditional write also reserves a slot in the client's Receive Maximum window
 *   [MQTT-3.3.4-9], so flow control costs no extra request;
 * - outbound messages in flight (sent, not yet acknowledged), kept for persistent sessions so they
 *   can be resent with DUP on reconnect [MQTT-4.4.0-1];
 * - the offline queue, bounded (`maxQueued`), oldest first; beyond the bound new messages are
 *   dropped and counted (QueueOverflows);
 * - inbound QoS 2 receipts: a conditional put per packet id, so a retried or reordered PUBLISH
 *   is delivered once [MQTT-4.3.3-10], released by PUBREL. A released receipt stays a while,
 *   marked with the connection that released it, so that a late PUBLISH from an older connection
 *   of the session is still a duplicate.
 * Every record carries the session epoch it belongs to; records of another epoch are ignored.
 * Every write is safe to run twice: a write whose response was lost and that the SDK (or a rerun)
 * sends again recognises its own earlier success (lib/store/dynamodb/request-token.ts).
 */
import type { EpochScope } from './subscription-port';
import type { PublishPacket } from '../mqtt/types';

export interface OutboundMessage {
  /** The PUBLISH as it goes to this subscriber, without packetId (and DUP 0) */
  packet: PublishPacket;
  /** When its Message Expiry Interval ends, epoch ms; null: never */
  messageExpiresAt: number | null;
}

export interface InflightMessage extends OutboundMessage {
  packetId: number;
  /** 'publish': waiting for PUBACK/PUBREC; 'pubrel': PUBREC received, waiting for PUBCOMP */
  stage: 'publish' | 'pubrel';
  /** Sending order, for resend in order */
  sequence: number;
}

export interface QueuedMessage extends OutboundMessage {
  sequence: number;
}

export type Reservation =
  /** Send now with this packet id; the window slot is taken until the ack */
  | { readonly outcome: 'reserved'; readonly packetId: number; readonly sequence: number }
  /** The Receive Maximum window is full: queue the message instead */
  | { readonly outcome: 'window-full' };

export interface ReserveOptions {
  /**
   * A new message for the session (not one taken from its queue): refused like a full window
   * while older messages wait in the queue, so it goes behind them and never overtakes them.
   */
  readonly behindQueue?: boolean;
  /**
   * The connection the copy is posted to: refused like a full window unless the session's gate
   * lets copies through to it (see `Gate`). Absent: the gate is not consulted.
   */
  readonly to?: string;
  /** With `to`: the resume of that connection, which holds the gate, sends the backlog. */
  readonly resuming?: boolean;
}

/**
 * Which connection may be sent the session's QoS 1/2 copies now, kept on the counter item beside
 * the window, so that every reservation checks it in the same conditional write:
 * - 'none': no resume yet in this session: the connection its routes name;
 * - 'held': a resume of `connectionId` is sending CONNACK, resends and backlog; only it reserves,
 *   every other copy is queued behind the backlog;
 * - 'open': `connectionId` only (a copy planned for an older connection is queued instead);
 * - 'closed': the session is offline.
 */
export type Gate =
  | { readonly state: 'none' }
  | { readonly state: 'held' | 'open'; readonly connectionId: string }
  | { readonly state: 'closed' };

/** Where a drain's take puts the message: the reservation it goes out under. */
export interface Into {
  readonly packetId: number;
  readonly sequence: number;
  /** A persistent session: the message is kept in flight under the packet id, in the same write. */
  readonly keep: boolean;
  /**
   * The same take again, after an attempt that failed and may have been applied: the message the
   * reservation holds already, if any, is answered first (one read), even when the queue is empty.
   */
  readonly rerun?: boolean;
}

/**
 * The order stamp of a connection of a session (its CONNECT time, then its id), so that the
 * receipts can tell an older connection's late PUBLISH from a newer connection's new one.
 */
export function connectionOrder(connectedAtMs: number, connectionId: string): string {
  return `${String(connectedAtMs).padStart(15, '0')}/${connectionId}`;
}

/** A receiving connection that gave no order stamp: after every stamp (a released id is new for it). */
export const NEWEST_CONNECTION = '\uffff';
/** A releasing connection that gave no order stamp: before every stamp (the id is new for all). */
export const OLDEST_CONNECTION = '';
/**
 * How long a released QoS 2 receipt keeps: longer than any late invocation of a superseded
 * connection can come (a redelivered ingress message is retried within hours, then dead-lettered).
 */
export const RELEASED_RECEIPT_TTL_SECONDS = 24 * 3600;

/** How long an online session outlives its claim (lib/store/session-rules.ts), plus an hour of margin. */
const ONLINE_LEASE_SECONDS = 2 * 3600 + 10 * 60 + 3600;

/**
 * The TTL of the message items (queue, in flight, receipts, counter): the longest session the
 * broker grants (its Maximum Session Expiry Interval) and the time it may have been online
 * first, so that nothing of a live session expires before the session [issue 13, defect 7].
 */
export function messageTtlSeconds(maximumSessionExpiryInterval: number): number {
  return maximumSessionExpiryInterval + ONLINE_LEASE_SECONDS;
}

/**
 * How long after the last reservation a window slot without a stored message may be given back
 * (MessageStore `inflight`): no invocation that reserved it can still be running (Lambda runs at
 * most 15 minutes), so its putInflight can no longer land.
 */
export const RECLAIM_AFTER_SECONDS = 15 * 60 + 60;

/** The TTL of message items when the runtime names no maximum: the broker's default, 7 days. */
export const DEFAULT_MESSAGE_TTL_SECONDS = messageTtlSeconds(7 * 24 * 3600);

/** The in-flight window as a resume reads it (MessageStore `readWindow`). */
export interface WindowRead {
  /** The messages in flight, by sequence. */
  readonly messages: InflightMessage[];
  /**
   * Packet ids in the window with no stored message, reserved less than RECLAIM_AFTER_SECONDS
   * ago: their message may still be stored (a reservation is one write before its putInflight).
   */
  readonly unstored: number[];
}

export interface EnqueueOptions {
  readonly requestToken?: string;
  /**
   * The slot this enqueue took, noted by the store as soon as it has one. Passed again on a rerun
   * (with the same token), the message goes under that slot, and only if no drain has taken it
   * from there: a rerun after the message write applied with its answer lost queues no second
   * copy, even when other enqueues came in between.
   */
  readonly slot?: EnqueueSlot;
}

/** Filled in by `enqueue` (EnqueueOptions `slot`). */
export interface EnqueueSlot {
  sequence?: number;
  gate?: Gate;
}

export type Enqueued =
  /** Queued; the session's gate as it stood at that write */
  | { readonly outcome: 'queued'; readonly gate: Gate }
  /** `maxQueued` messages wait already: not queued */
  | { readonly outcome: 'full' };

/** The end of a resume: 'queued' while messages wait and the window has room (drain them first). */
export type GateOpening = 'opened' | 'queued' | 'lost';

export interface MessageStore {
  /**
   * Allocates the next packet id and takes a window slot, if fewer than `receiveMaximum`
   * messages are in flight (and, with `behindQueue`, none waits in the queue): one conditional
   * UpdateItem on the client's counter item.
   */
  reserve(clientId: string, sessionEpoch: string, receiveMaximum: number, options?: ReserveOptions): Promise<Reservation>;
  /** Records a sent QoS 1/2 message until it is acknowledged (persistent sessions only). */
  putInflight(clientId: string, sessionEpoch: string, message: InflightMessage): Promise<void>;
  /**
   * PUBACK, or PUBCOMP: the message is done and its window slot is free; idempotent (a duplicate
   * ack frees nothing). `stored: false` (a clean session, which keeps no in-flight copy) saves
   * the delete of the in-flight item. Returns how many messages wait in the queue, so that the
   * caller drains only when there is something to drain (0 after a duplicate ack).
   */
  complete(clientId: string, sessionEpoch: string, packetId: number, options?: { stored?: boolean }): Promise<{ queued: number }>;
  /** PUBREC: the message moves to the PUBREL stage (it keeps its window slot). */
  released(clientId: string, sessionEpoch: string, packetId: number): Promise<void>;
  /**
   * Messages in flight, by sequence: resent on reconnect. Also gives back the window slots of
   * reservations that never stored their message (a failure between reserve and putInflight, or
   * a complete cut short), once no invocation that made them can still be running.
   */
  inflight(clientId: string, sessionEpoch: string): Promise<InflightMessage[]>;
  /**
   * `inflight`, and the packet ids reserved so recently that the invocation which reserved them
   * may still be about to store their message (`unstored`): a resume waits for those
   * (lib/runtime/effects/resume.ts "late copies"). The same single read.
   */
  readWindow(clientId: string, sessionEpoch: string): Promise<WindowRead>;
  /**
   * Appends to the offline queue; 'full' when `maxQueued` messages wait already. `requestToken`
   * and `slot`: the same for every attempt of one logical enqueue (a delivery step retried), so
   * that a rerun after a failure that came after the slot was taken takes no second slot and
   * queues the message once.
   */
  enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number, options?: EnqueueOptions): Promise<Enqueued>;
  /** Takes up to `limit` queued messages, oldest first, removing them (each taken once). */
  takeQueued(clientId: string, sessionEpoch: string, limit: number): Promise<QueuedMessage[]>;
  /**
   * The drain's take: the oldest live queued message leaves the queue and, with `into.keep`, is
   * kept in flight under `into.packetId` in the same atomic write, so a message taken is always
   * either queued or in flight, never lost. Safe to repeat: a retry of the same take (same
   * reservation) answers the same message. Expired messages met on the way are dropped. Undefined:
   * the queue is empty.
   */
  dequeue(clientId: string, sessionEpoch: string, into: Into): Promise<QueuedMessage | undefined>;
  /**
   * A resume of `connectionId` starts: the gate is held for it, so that from now on only its own
   * reservations (`resuming`) succeed. One conditional UpdateItem on the counter, idempotent.
   * Answers how many messages wait in the queue.
   */
  holdGate(clientId: string, sessionEpoch: string, connectionId: string): Promise<{ queued: number }>;
  /**
   * The resume is done: the gate opens to `connectionId`, if the resume still holds it and no
   * message waits in the queue while the window has room ('queued': drain, then try again);
   * `force` opens it whatever waits. One conditional UpdateItem.
   */
  openGate(clientId: string, sessionEpoch: string, connectionId: string, receiveMaximum: number, force?: boolean): Promise<GateOpening>;
  /** The connection closed: the gate, if it is held or open for it, closes. One conditional UpdateItem. */
  closeGate(clientId: string, sessionEpoch: string, connectionId: string): Promise<void>;
  /**
   * Inbound QoS 2: records the packet id; 'duplicate' if already recorded (deliver once), or if
   * it was released by a newer connection than `from` (a late PUBLISH of a superseded
   * connection). `from`: the receiving connection's `connectionOrder`; absent: the newest.
   * `requestToken`: names this write, for `forgetQos2` (default: a fresh one).
   */
  receiveQos2(clientId: string, sessionEpoch: string, packetId: number, from?: string, requestToken?: string): Promise<'new' | 'duplicate'>;
  /**
   * Inbound QoS 2, undone: the receipt that `receiveQos2` wrote with `requestToken` is deleted if
   * it is still that one and not released. For a PUBLISH that was not routed (its receipt write,
   * or a step after it, failed): the resend, or the frame's retry, is then new again instead of
   * a duplicate routed to nobody. A receipt of another write (the routed original of a resend) is
   * left alone, so the resend stays a duplicate [MQTT-4.3.3-10]. Safe to repeat; a no-op when the
   * receipt write was never applied.
   */
  forgetQos2(clientId: string, sessionEpoch: string, packetId: number, requestToken: string): Promise<void>;
  /** Inbound PUBREL: releases the packet id for `from` and newer connections; 'unknown' if it was not recorded. */
  releaseQos2(clientId: string, sessionEpoch: string, packetId: number, from?: string): Promise<'released' | 'unknown'>;
  /**
   * Deletes the client's state of the epochs in `scope` (a session ended: `through` its epoch; a
   * clean start: `before` the new one), never a newer session's: a late or rerun disconnect path
   * of an old connection must not wipe the window, queue and receipts of the session that
   * replaced it. Each item is deleted only if its epoch is still in scope.
   */
  deleteAll(clientId: string, scope: EpochScope): Promise<void>;
}
