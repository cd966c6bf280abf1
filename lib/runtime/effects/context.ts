/**
 * What the effects of one decision share: the connection they act for, and what they learn on
 * the way (the record once a CONNECT is recorded, the session a claim took, bytes to send after
 * the decision's packets).
 */
import type { ConnectionState } from '../../broker';
import type { TransportMode } from '../../api-gateway';
import type { Packet } from '../../mqtt';
import type { ConnectionRecord } from '../../store/ports';

export interface EffectContext {
  /** The connection record; replaced by the updated one once a CONNECT is recorded. */
  record: ConnectionRecord;
  readonly mode: TransportMode;
  readonly packet: Packet;
  readonly connectionId: string;
  /** The state the decision was taken from. */
  readonly state: ConnectionState;
  /** What the CONNECT's session read saw, to pick the claim's first write. */
  readonly sessionHint?: 'absent' | 'present';
  /** Set by a successful session claim. */
  claimed?: { readonly sessionEpoch: string; readonly sessionPresent: boolean };
  /**
   * Bytes for this connection that follow the decision's packets: retained messages after a
   * SUBACK, and copies for the sender's own subscriptions (lib/runtime/effects/send.ts `Outlet`).
   */
  readonly after: Uint8Array[];
}
