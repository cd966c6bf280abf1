/**
 * Domain errors of the storage layer. Adapters turn conditional-write failures into these, so the
 * broker core reacts to races by class, never by message text or SDK exception names.
 */

export abstract class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = new.target.name;
  }
}

/** The connection has no live record: never opened, removed, or expired. */
export class ConnectionNotFoundError extends StoreError {
  constructor(readonly connectionId: string, options?: { cause?: unknown }) {
    super(`connection ${connectionId} not found`, options);
  }
}

/**
 * A CONNECT was already accepted on this connection. A second CONNECT is a protocol error
 * [MQTT-3.1.0-2]; the conditional write makes this hold under concurrent invocations.
 */
export class AlreadyConnectedError extends StoreError {
  constructor(readonly connectionId: string, options?: { cause?: unknown }) {
    super(`connection ${connectionId} already sent CONNECT`, options);
  }
}

/** A stored item does not have the shape of its record type (written by something else). */
export class CorruptItemError extends StoreError {
  constructor(readonly table: string, detail: string, options?: { cause?: unknown }) {
    super(`corrupt item in ${table}: ${detail}`, options);
  }
}
