/**
 * One client connection of the local gateway: its event context, its mode (text or binary, fixed
 * by the first data frame it sends), its idle and maximum-duration timers, and how it closes.
 */
import type { WebSocket } from 'ws';
import type { ConnectionContext } from './events';
import { PacketAssembler } from './packet-assembler';
import type { TransportMode } from '../api-gateway';

export interface CloseStatus {
  readonly code: number;
  readonly reason: string;
}

export interface ConnectionTimeouts {
  readonly idleTimeoutMs: number;
  readonly maxConnectionDurationMs: number;
}

export const IDLE_TIMEOUT: CloseStatus = { code: 1001, reason: 'Connection Idle Timeout' };
export const DURATION_EXCEEDED: CloseStatus = { code: 1001, reason: 'Maximum Connection Duration Exceeded' };
export const DELETED: CloseStatus = { code: 1005, reason: 'Connection deleted through @connections' };
export const GOING_AWAY: CloseStatus = { code: 1001, reason: 'Going away' };

export class LocalConnection {
  lastActiveAt: number;
  /** Gathers binary frames into whole MQTT packets (lenient mode). */
  private readonly packets = new PacketAssembler();
  private modeFixed: TransportMode | undefined;
  private closing: CloseStatus | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly durationTimer: NodeJS.Timeout;

  constructor(
    readonly context: ConnectionContext,
    readonly ws: WebSocket,
    private readonly timeouts: ConnectionTimeouts,
    /** Called when a timer decides the connection must end. */
    private readonly onExpired: (connection: LocalConnection, status: CloseStatus) => void,
  ) {
    this.lastActiveAt = context.connectedAt;
    this.durationTimer = setTimeout(() => this.onExpired(this, DURATION_EXCEEDED), timeouts.maxConnectionDurationMs);
    this.durationTimer.unref();
    this.touch();
  }

  get id(): string {
    return this.context.connectionId;
  }

  /** How posts are framed: as the client's first data frame was; text until it sends one. */
  get mode(): TransportMode {
    return this.modeFixed ?? 'text';
  }

  /** True once the gateway decided to close it, or the socket is no longer open. */
  get isClosing(): boolean {
    return this.closing !== undefined || this.ws.readyState !== this.ws.OPEN;
  }

  /**
   * Records an incoming data message; answers the `$default` body it makes: the text as is, or
   * the whole packets now complete in base64 (undefined while a binary packet is incomplete).
   */
  received(data: Buffer, isBinary: boolean): string | undefined {
    this.modeFixed ??= isBinary ? 'binary' : 'text';
    this.touch();
    if (!isBinary) return data.toString('utf8');
    // Lenient mode: hand on whole packets only (see packet-assembler.ts).
    return this.packets.push(data)?.toString('base64');
  }

  /** Sends posted data as one message, in the connection's mode. */
  post(data: Buffer): void {
    this.ws.send(data, { binary: this.mode === 'binary' });
    this.touch();
  }

  /** Closes with a code and reason, or with no code at all (as DELETE does). */
  close(status: CloseStatus): void {
    if (this.closing !== undefined) return;
    this.closing = status;
    if (status.code === 1005) this.ws.close();
    else this.ws.close(status.code, status.reason);
  }

  /** Why it closed: the gateway's own decision if it made one, else what the client said. */
  closeStatus(peerCode: number, peerReason: string): CloseStatus {
    return this.closing ?? { code: peerCode, reason: peerReason };
  }

  dispose(): void {
    clearTimeout(this.durationTimer);
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
  }

  private touch(): void {
    this.lastActiveAt = Date.now();
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.onExpired(this, IDLE_TIMEOUT), this.timeouts.idleTimeoutMs);
    this.idleTimer.unref();
  }
}
