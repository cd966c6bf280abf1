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
 *   is delivered once [MQTT-4.3.3-10], released by PUBREL.
 * Every record carries the session epoch it belongs to; records of another epoch are ignored.
 */
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
  /** Messages in flight, by sequence: resent on reconnect. */
  inflight(clientId: string, sessionEpoch: string): Promise<InflightMessage[]>;
  /** Appends to the offline queue; 'full' when `maxQueued` messages wait already. */
  enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number): Promise<Enqueued>;
  /** Takes up to `limit` queued messages, oldest first, removing them (each taken once). */
  takeQueued(clientId: string, sessionEpoch: string, limit: number): Promise<QueuedMessage[]>;
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
  /** Inbound QoS 2: records the packet id; 'duplicate' if already recorded (deliver once). */
  receiveQos2(clientId: string, sessionEpoch: string, packetId: number): Promise<'new' | 'duplicate'>;
  /** Inbound PUBREL: forgets the packet id; 'unknown' if it was not recorded. */
  releaseQos2(clientId: string, sessionEpoch: string, packetId: number): Promise<'released' | 'unknown'>;
  /** Deletes everything of the client (session ended or clean start). */
  deleteAll(clientId: string): Promise<void>;
}
