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

/**
 * A newer CONNECT (by gateway arrival time) owns the client id's session, so this claim lost the
 * race; the runtime closes the losing connection [MQTT-3.1.4-3].
 */
export class SessionTakenOverError extends StoreError {
  constructor(
    readonly clientId: string,
    readonly connectionId: string,
    options?: { cause?: unknown },
  ) {
    super(`session ${clientId} is owned by a newer connection than ${connectionId}`, options);
  }
}

/** A server-assigned client id is held by a live session, so it is not new [MQTT-3.2.2-16]. */
export class ClientIdInUseError extends StoreError {
  constructor(readonly clientId: string, options?: { cause?: unknown }) {
    super(`client id ${clientId} is in use`, options);
  }
}

/**
 * A live session of this client id was claimed by another principal (or anonymous against a
 * user): the claim is refused in its condition, so no read-then-claim race can hand it over.
 */
export class ClientIdOfAnotherPrincipalError extends StoreError {
  constructor(readonly clientId: string, options?: { cause?: unknown }) {
    super(`client id ${clientId} belongs to another principal`, options);
  }
}

/** A user or group with this name already exists (auth table). */
export class PrincipalExistsError extends StoreError {
  constructor(readonly kind: 'user' | 'group', readonly principal: string, options?: { cause?: unknown }) {
    super(`${kind} ${principal} already exists`, options);
  }
}

/** No user or group with this name exists (auth table). */
export class PrincipalNotFoundError extends StoreError {
  constructor(readonly kind: 'user' | 'group', readonly principal: string, options?: { cause?: unknown }) {
    super(`${kind} ${principal} does not exist`, options);
  }
}
