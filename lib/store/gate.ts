/**
 * The session's gate (lib/store/message-port.ts `Gate`) as both adapters store it: one string
 * attribute of the counter, absent for 'none', so that a reservation's condition compares it to
 * one value. Pure.
 */
import type { Gate, ReserveOptions } from './message-port';

/** The stored value of a gate held by, or open to, a connection, or closed. */
export function gateValue(state: 'held' | 'open', connectionId: string): string;
export function gateValue(state: 'closed'): string;
export function gateValue(state: 'held' | 'open' | 'closed', connectionId?: string): string {
  return state === 'closed' ? 'closed' : `${state}#${connectionId}`;
}

/** The gate a stored value stands for. */
export function gateOf(value: string | undefined): Gate {
  if (value === undefined) return { state: 'none' };
  const cut = value.indexOf('#');
  const state = value.slice(0, cut);
  if (cut > 0 && (state === 'held' || state === 'open')) return { state, connectionId: value.slice(cut + 1) };
  return { state: 'closed' };
}

/**
 * The stored value a reservation needs (undefined: any): a resume's own needs its held gate; a
 * copy for a connection needs the gate open to it, or no gate yet ('none' also passes).
 */
export function requiredGate(options: ReserveOptions): string | undefined {
  if (options.to === undefined) return undefined;
  return gateValue(options.resuming === true ? 'held' : 'open', options.to);
}

/** Does a gate with this stored value let the reservation through? */
export function gatePasses(value: string | undefined, options: ReserveOptions): boolean {
  const required = requiredGate(options);
  if (required === undefined) return true;
  return value === required || (value === undefined && options.resuming !== true);
}
