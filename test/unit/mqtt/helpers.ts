/**
 * Small helpers for codec tests: framing bodies and asserting typed errors by class and reason
 * code (never by message text).
 */

import { expect } from 'vitest';
import { MqttError } from '../../../lib/mqtt/errors';

/** Variable Byte Integer bytes. */
export function vbi(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A whole packet: first byte, Remaining Length, body. */
export function frame(first: number, body: number[]): Uint8Array {
  return Uint8Array.from([first, ...vbi(body.length), ...body]);
}

/** A UTF-8 string field from raw bytes (which may be ill-formed on purpose). */
export function rawString(bytes: number[]): number[] {
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/** A UTF-8 string field. */
export function str(s: string): number[] {
  return rawString(Array.from(new TextEncoder().encode(s)));
}

type ErrorClass = abstract new (...args: never[]) => MqttError;

/** Runs `fn`, expecting an instance of `cls` (checked by class and reason code). */
export function expectMqttError(fn: () => unknown, cls: ErrorClass, reasonCode: number, specRef?: string): MqttError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  const error = caught as MqttError;
  expect(error.reasonCode).toBe(reasonCode);
  if (specRef !== undefined) expect(error.specRef).toBe(specRef);
  return error;
}
