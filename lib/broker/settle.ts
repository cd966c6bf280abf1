/**
 * How a CONNECT's decision changes once the store has settled what the core could only assume.
 * The core decides from what the runtime read; a conditional write may then find otherwise: the
 * session appeared or expired since the read, a newer CONNECT already owns the client id, or the
 * connection went away before its CONNECT was recorded. The runtime asks these functions for the
 * final decision, so every packet the broker sends is still built in the core.
 */

import type { ConnackPacket } from '../mqtt/types';
import type { Decision } from './decisions';

/**
 * The store's Session Present is authoritative: the session may have expired or appeared since
 * the core's read [MQTT-3.2.2-2] [MQTT-3.2.2-3]. 3.1 has no Session Present flag.
 */
export function withSessionPresent(decision: Decision, sessionPresent: boolean): Decision {
  if (decision.protocolVersion === 3) return decision;
  const send = decision.send.map((p) =>
    p.type === 'connack' && p.reasonCode === 0 && p.sessionPresent !== sessionPresent ? ({ ...p, sessionPresent } as ConnackPacket) : p,
  );
  return { ...decision, send };
}

/**
 * A newer CONNECT for the same client id owns the session already: this one lost the takeover
 * race [MQTT-3.1.4-3]. Its connection closes without a CONNACK (0x8E: Session taken over).
 */
export function supersededByNewerConnect(decision: Decision): Decision {
  return closedWithoutReply(decision, 0x8e);
}

/** The connection was gone before its CONNECT was recorded: nothing to answer, nothing to keep. */
export function goneBeforeConnect(decision: Decision): Decision {
  return closedWithoutReply(decision, 0);
}

function closedWithoutReply(decision: Decision, reasonCode: number): Decision {
  return { ...decision, state: { status: 'open' }, send: [], intents: [], close: { reason: 'server-disconnect', reasonCode } };
}
