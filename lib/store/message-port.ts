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
}

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
  enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number): Promise<'queued' | 'full'>;
  /** Takes up to `limit` queued messages, oldest first, removing them (each taken once). */
  takeQueued(clientId: string, sessionEpoch: string, limit: number): Promise<QueuedMessage[]>;
  /** Inbound QoS 2: records the packet id; 'duplicate' if already recorded (deliver once). */
  receiveQos2(clientId: string, sessionEpoch: string, packetId: number): Promise<'new' | 'duplicate'>;
  /** Inbound PUBREL: forgets the packet id; 'unknown' if it was not recorded. */
  releaseQos2(clientId: string, sessionEpoch: string, packetId: number): Promise<'released' | 'unknown'>;
  /** Deletes everything of the client (session ended or clean start). */
  deleteAll(clientId: string): Promise<void>;
}
