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

/** Largest chunk of raw bytes per posted message: its base64 is exactly FRAME_LIMIT_BYTES (24 KiB). */
export const MAX_CHUNK_BYTES = (FRAME_LIMIT_BYTES / 4) * 3;

/** How a connection carries MQTT: base64 in text frames (API Gateway), or binary frames (local lenient mode only). */
export type TransportMode = 'text' | 'binary';
