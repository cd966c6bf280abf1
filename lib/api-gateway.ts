/**
 * What API Gateway WebSocket APIs impose on every part of Stratus, defined once: the client
 * transport, the bridge, the handlers, the local gateway and the CDK construct all read these.
 * A leaf module: it imports nothing, so devices, Lambda bundles and CDK apps may all import it.
 * Sources: ../shared/AWS-FACTS.md (API Gateway quotas for WebSocket APIs).
 */

/**
 * Largest WebSocket frame API Gateway accepts or sends: "32 KB", read as 32,768 (the local
 * gateway's strict mode enforces this reading). A bigger one closes with 1009.
 */
export const FRAME_LIMIT_BYTES = 32 * 1024;

/**
 * Largest frame a Stratus client (the MQTT.js transport, the edge bridge) sends: 32,000 characters
 * of base64, 24,000 bytes. AWS does not say whether "32 KB" is 32,000 or 32,768; frames cut at
 * 32,000 fit either reading, and the smaller cut costs nothing (a message of several frames is
 * still one message, metered in 32 KB steps).
 */
export const CLIENT_FRAME_CHARS = 32_000;

/** Largest WebSocket message API Gateway accepts, all frames together: 128 KB. Bigger closes with 1009. */
export const MESSAGE_LIMIT_BYTES = 128 * 1024;

/**
 * The largest MQTT packet one API Gateway message can carry: packets travel as base64 in text
 * frames, so 128 KB of base64 holds 96 KB (98,304 bytes) of packet.
 */
export const MAX_PACKET_BYTES = (MESSAGE_LIMIT_BYTES / 4) * 3;

/**
 * Largest text Stratus posts to a client in one `@connections` POST, tag included: 31 KiB, 31,744
 * characters. AWS caps a frame at "32 KB" without saying whether that is 32,000 or 32,768, so
 * posts stay under both with room to spare.
 */
export const POST_LIMIT_CHARS = 31 * 1024;

/** Most MQTT bytes in one untagged post of whole packets: the base64 of 23,808 bytes is POST_LIMIT_CHARS. */
export const POST_PACKED_BYTES = (POST_LIMIT_CHARS / 4) * 3;

/**
 * Room kept for a fragment tag `<id>.<index>.<count>:`: a 16-character id, two numbers of at most
 * 6 digits and 3 separators are 31 characters, rounded up to 32 so the payload stays a multiple of 4.
 */
export const FRAGMENT_TAG_MAX_CHARS = 32;

/** MQTT bytes per fragment of a packet too big for one post: 23,784, base64 31,712 characters. */
export const FRAGMENT_PAYLOAD_BYTES = ((POST_LIMIT_CHARS - FRAGMENT_TAG_MAX_CHARS) / 4) * 3;

/**
 * Most MQTT bytes in one binary post (local lenient mode only): the gateway takes a post up to the
 * message limit, 128 KB, so every packet Stratus sends (at most MAX_PACKET_BYTES plus a few bytes
 * of properties) goes whole.
 */
export const BINARY_POST_BYTES = MESSAGE_LIMIT_BYTES;

/**
 * Characters a numbered client message reserves for its `<seq>:` prefix (docs/TRANSPORT.md
 * section 3): a sequence number of at most 15 digits, and the colon.
 */
export const SEQ_PREFIX_RESERVE = 16;

/** The largest sequence number of a numbered client message: 15 decimal digits (a safe integer). */
export const MAX_MESSAGE_SEQ = 999_999_999_999_999;

/**
 * The largest MQTT packet one numbered message can carry: the base64 after the reserved prefix,
 * floor((131,072 - 16) / 4) * 3 = 98,292 bytes.
 */
export const MAX_NUMBERED_PACKET_BYTES = Math.floor((MESSAGE_LIMIT_BYTES - SEQ_PREFIX_RESERVE) / 4) * 3;

/** How a connection carries MQTT: base64 in text frames (API Gateway), or binary frames (local lenient mode only). */
export type TransportMode = 'text' | 'binary';
