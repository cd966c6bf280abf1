/**
 * Injected integration failures, for tests: the local gateway answers chosen client frames with
 * API Gateway's JSON error frame instead of handing them to `$default`, as API Gateway does when
 * the integration fails (Lambda throttled, errored or timed out; SQS refused the message):
 * `{"message": "Internal server error", "connectionId": "…", "requestId": "…"}` in a text frame.
 * The frame reaches no handler, so the packets it carried are lost, as on AWS; the connection
 * stays open. Rules are taken in the order they were added; each answers `count` frames.
 */
import { newGatewayId } from './events';

/** A client data frame, as the gateway would hand it to `$default`. */
export interface ClientFrame {
  readonly connectionId: string;
  /** The `$default` body: the text as sent, or (binary frames) base64 of whole packets. */
  readonly body: string;
  readonly isBinary: boolean;
}

export interface ErrorFrameRule {
  /** Only this connection's frames. @default every connection */
  readonly connectionId?: string;
  /** Only frames for which this answers true (checked after `connectionId`). @default every frame */
  readonly match?: (frame: ClientFrame) => boolean;
  /** How many frames to answer with an error frame. @default 1 */
  readonly count?: number;
  /**
   * API Gateway's `message`. @default 'Internal server error' (others seen: 'Endpoint request
   * timed out', 'Forbidden')
   */
  readonly message?: string;
}

interface ActiveRule {
  readonly rule: ErrorFrameRule;
  left: number;
}

/** The text API Gateway sends for a failed integration, with its spacing. */
export function gatewayErrorFrame(message: string, connectionId: string, requestId: string): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}

export class ErrorFrameInjector {
  /** Error frames sent so far. */
  injected = 0;
  private rules: ActiveRule[] = [];

  add(rule: ErrorFrameRule): void {
    const count = rule.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    this.rules.push({ rule, left: count });
  }

  /**
   * The error frame to answer `frame` with, taking one use of the first rule it matches, or
   * undefined when no rule matches (the frame goes to `$default` as usual).
   */
  answer(frame: ClientFrame): string | undefined {
    const active = this.rules.find(({ rule }) => (rule.connectionId === undefined || rule.connectionId === frame.connectionId) && (rule.match?.(frame) ?? true));
    if (active === undefined) return undefined;
    active.left -= 1;
    if (active.left === 0) this.rules = this.rules.filter((other) => other !== active);
    this.injected += 1;
    return gatewayErrorFrame(active.rule.message ?? 'Internal server error', frame.connectionId, newGatewayId());
  }
}
