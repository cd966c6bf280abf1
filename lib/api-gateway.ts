/**
 * What API Gateway WebSocket APIs impose on every part of Stratus, defined once: the client
 * transport, the bridge, the handlers, the local gateway and the CDK construct all read these.
 * A leaf module: it imports nothing, so devices, Lambda bundles and CDK apps may all import it.
 * Sources: ../shared/AWS-FACTS.md (API Gateway quotas for WebSocket APIs).
 */

/** Largest WebSocket frame API Gateway accepts or sends: 32 KB. A bigger one closes with 1009. */
export const FRAME_LIMIT_BYTES = 32 * 1024;

/** Largest WebSocket message API Gateway accepts, all frames together: 128 KB. Bigger closes with 1009. */
export const MESSAGE_LIMIT_BYTES = 128 * 1024;

/**
 * The largest MQTT packet one API Gateway message can carry: packets travel as base64 in text
 * frames, so 128 KB of base64 holds 96 KB (98,304 bytes) of packet.
 */
export const MAX_PACKET_BYTES = (MESSAGE_LIMIT_BYTES / 4) * 3;

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

/** Largest chunk of raw bytes per posted message: its base64 is exactly FRAME_LIMIT_BYTES (24 KiB). */
export const MAX_CHUNK_BYTES = (FRAME_LIMIT_BYTES / 4) * 3;

/** How a connection carries MQTT: base64 in text frames (API Gateway), or binary frames (local lenient mode only). */
export type TransportMode = 'text' | 'binary';
