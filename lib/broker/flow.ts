/**
 * Outbound flow control and resending, as pure helpers for the runtime.
 *
 * Receive Maximum (MQTT 5.0 4.9): the server sends at most the client's Receive Maximum QoS 1/2
 * PUBLISHes that are not yet acknowledged (PUBACK, PUBCOMP, or PUBREC >= 0x80) [MQTT-3.3.4-9]
 * [MQTT-4.9.0-2]; the rest wait in the session queue. QoS 0 is not counted and not held back
 * (4.9.0 allows either; holding it would only add a queue write). Other packets are never
 * delayed by the quota [MQTT-3.3.4-10] [MQTT-4.9.0-3]. 3.1.1 has no Receive Maximum: the
 * state carries 65,535 for it.
 *
 * Resend (MQTT 5.0 4.4): on a resumed session (Clean Start 0, session present), every
 * unacknowledged PUBLISH is sent again with its original packet id and DUP 1, and every PUBREL
 * awaiting PUBCOMP [MQTT-4.4.0-1] [MQTT-3.3.1-1], in the order the PUBLISHes were first sent
 * (MQTT 5.0 4.6, message ordering). Message expiry does not apply to a PUBLISH already sent [MQTT-4.3.3-7].
 */

import type { PublishPacket, PubrelPacket } from '../mqtt/types';

/** One in-flight entry of a session, as the store keeps it. */
export type InflightEntry =
  /** A QoS 1/2 PUBLISH sent and not yet acknowledged (QoS 2: no PUBREC yet). */
  | { readonly kind: 'publish'; readonly sequence: number; readonly packet: PublishPacket & { packetId: number } }
  /** A PUBREL sent (after the client's PUBREC) and awaiting PUBCOMP. */
  | { readonly kind: 'pubrel'; readonly sequence: number; readonly packetId: number };

/** The packets to resend on session resume, in first-sent order (`sequence`). */
export function planResend(inflight: readonly InflightEntry[]): (PublishPacket | PubrelPacket)[] {
  return inflight
    .slice()
    .sort((a, b) => a.sequence - b.sequence)
    .map((e) => (e.kind === 'publish' ? { ...e.packet, dup: true } : { type: 'pubrel', packetId: e.packetId }));
}
