/**
 * The session and connection writes on DynamoDB Local when the SDK resends a request whose first
 * attempt was applied ('sdk-retry'), or a handler dies after a write ('lost-response') and runs
 * again (issue 13, defect 1): each write recognises its own earlier success.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProtocolVersion, Will } from '../../../lib/mqtt/types';
import { DynamoConnectionStore } from '../../../lib/store/dynamodb/connection-store';
import { MeteredDynamoDb } from '../../../lib/store/dynamodb/metered';
import { DynamoSessionStore } from '../../../lib/store/dynamodb/session-store';
import type { ClaimRequest } from '../../../lib/store/ports';
import { HELD_WILL_LEASE_MS } from '../../../lib/store/session-reruns';
import { useDynamoTables } from '../../helpers/dynamodb';
import { FaultyDynamoDb } from '../../helpers/faulty-dynamodb';

const db = await useDynamoTables({ tables: ['sessions', 'connections'] });
const table = db.names.sessions;

describe.each([4, 5] as const)('session writes resent by the SDK, protocol %i', (protocolVersion: ProtocolVersion) => {
  let faulty: FaultyDynamoDb;
  let store: DynamoSessionStore;
  let plain: DynamoSessionStore;

  beforeEach(() => {
    faulty = new FaultyDynamoDb(db.client);
    store = new DynamoSessionStore(new MeteredDynamoDb(faulty.client), table);
    plain = new DynamoSessionStore(db.metered, table);
  });

  const will = (topic: string, delay?: number): Will => ({
    topic,
    payload: new Uint8Array([7]),
    qos: 1,
    retain: false,
    ...(delay === undefined ? {} : { properties: { willDelayInterval: delay } }),
  });
  let clock = Date.now();
  const claim = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
    clientId: `client-${randomUUID()}`,
    connectionId: `conn-${randomUUID()}`,
    cleanStart: false,
    protocolVersion,
    sessionExpiryInterval: 3600,
    requestTimeEpoch: (clock += 10),
    ...overrides,
  });
  const next = (request: ClaimRequest, overrides: Partial<ClaimRequest> = {}) =>
    claim({ clientId: request.clientId, principal: request.principal, ...overrides });
  const resend = (command: string) => faulty.inject({ kind: 'sdk-retry', command, table });

  it.each(['absent', 'present', undefined] as const)('[MQTT-3.2.2-3] a resent claim of a new session answers Session Present 0 (hint %s)', async (hint) => {
    const request = claim({ hint });
    resend('UpdateItem');
    const result = await store.claim(request);
    expect(faulty.injected).toHaveLength(1);
    expect(result.sessionPresent).toBe(false);
    expect((await plain.get(request.clientId))?.sessionEpoch).toBe(result.sessionEpoch);
  });

  it('[MQTT-3.2.2-3] a resent claim that resumed answers Session Present 1 and the epoch', async () => {
    const first = claim();
    const { sessionEpoch } = await plain.claim(first);
    await plain.release(first);
    resend('UpdateItem');
    expect(await store.claim(next(first))).toEqual({ sessionPresent: true, sessionEpoch });
  });

  it('[MQTT-3.1.4-3] a resent takeover still names the previous connection and hands out its will', async () => {
    const first = claim({ will: will('first') });
    await plain.claim(first);
    resend('UpdateItem');
    const result = await store.claim(next(first, { will: will('second') }));
    expect(result).toMatchObject({ sessionPresent: true, previousConnectionId: first.connectionId, previousWill: will('first') });
  });

  it('[MQTT-3.1.3-9] a resent resume before the will delay passed still cancels the deferred will', async () => {
    const first = claim({ will: will('first', 600) });
    await plain.claim(first);
    await plain.release(first);
    resend('UpdateItem');
    const result = await store.claim(next(first));
    expect(result.previousWill).toBeUndefined();
    expect(result.sessionPresent).toBe(true);
  });

  it('[MQTT-3.1.2-8] a resent release hands out the will', async () => {
    const request = claim({ will: will('w') });
    await plain.claim(request);
    resend('UpdateItem');
    expect(await store.release({ ...request, hasWill: true })).toMatchObject({ outcome: 'released', will: { action: 'publish', will: will('w') } });
  });

  it('[MQTT-3.1.3-9] a resent release of a delayed will defers it (both writes resent)', async () => {
    const request = claim({ will: will('w', 30) });
    await plain.claim(request);
    faulty.inject({ kind: 'sdk-retry', command: 'UpdateItem', table, times: 2 });
    const released = await store.release({ ...request, hasWill: true });
    expect(released).toMatchObject({ outcome: 'released', will: { action: 'deferred', will: will('w', 30) }, willHeld: false });
    expect((await plain.get(request.clientId))?.will).toEqual(will('w', 30));
  });

  it('[MQTT-3.1.2-8] a release whose response was lost hands out the will to the rerun, until settled', async () => {
    const request = claim({ will: will('w') });
    await plain.claim(request);
    faulty.inject({ kind: 'lost-response', command: 'UpdateItem', table });
    await expect(store.release({ ...request, hasWill: true })).rejects.toMatchObject({ name: 'TimeoutError' });
    // A run at once is told another holds the will; the rerun after the lease (the first died) gets it.
    expect(await store.release({ ...request, hasWill: true })).toEqual({ outcome: 'in-progress' });
    const rerun = new DynamoSessionStore(new MeteredDynamoDb(faulty.client), table, { clock: () => Date.now() + HELD_WILL_LEASE_MS });
    expect(await rerun.release({ ...request, hasWill: true })).toMatchObject({ will: { action: 'publish', will: will('w') }, willHeld: true });
    resend('UpdateItem');
    await store.settleWill(request);
    expect(await rerun.release({ ...request, hasWill: true })).toMatchObject({ will: { action: 'none' }, willHeld: false });
  });

  it('a resent takeWill hands out the will', async () => {
    const request = claim({ will: will('w') });
    await plain.claim(request);
    resend('UpdateItem');
    expect(await store.takeWill(request)).toEqual({ outcome: 'taken', will: will('w') });
    expect(await plain.takeWill(request)).toEqual({ outcome: 'no-will' });
  });

  it('[MQTT-3.1.3-9] a resent takeDueWill hands out the due will', async () => {
    const request = claim({ will: will('w', 1) });
    await plain.claim(request);
    await plain.release(request);
    resend('UpdateItem');
    expect(await store.takeDueWill(request.clientId, Date.now() + 5_000)).toEqual(will('w', 1));
    expect(await plain.takeDueWill(request.clientId, Date.now() + 5_000)).toBeUndefined();
  });

  it('resent setExpiry, discardWill and abandon answer updated', async () => {
    const request = claim({ will: will('w') });
    await plain.claim(request);
    faulty.inject({ kind: 'sdk-retry', command: 'UpdateItem', table, times: 3 });
    expect(await store.setExpiry({ ...request, sessionExpiryInterval: 60 })).toBe('updated');
    expect(await store.discardWill(request)).toBe('updated');
    expect(await store.abandon({ ...request, created: false })).toBe('updated');
    expect(faulty.injected).toHaveLength(3);
  });
});

describe.each([4, 5] as const)('connection writes resent by the SDK, protocol %i', (protocolVersion: ProtocolVersion) => {
  it('[MQTT-3.1.0-2] a resent markConnected records the CONNECT and is not taken for a second one', async () => {
    const faulty = new FaultyDynamoDb(db.client);
    const store = new DynamoConnectionStore(new MeteredDynamoDb(faulty.client), db.names.connections);
    const connectionId = `conn-${randomUUID()}`;
    await store.open({ connectionId, mode: 'text', connectedAt: Date.now(), expiresAt: Math.floor(Date.now() / 1000) + 3600 });
    faulty.inject({ kind: 'sdk-retry', command: 'UpdateItem', table: db.names.connections });
    const fields = { clientId: 'c', protocolVersion, keepAlive: 60, cleanStart: true, mqttConnectedAt: Date.now() };
    expect(await store.markConnected(connectionId, fields)).toMatchObject({ status: 'mqtt', clientId: 'c', protocolVersion });
    expect(faulty.injected).toHaveLength(1);
  });
});
