/**
 * CONNECT and the disconnect path through the route handlers on DynamoDB Local, with the SDK's
 * resends and lost responses injected (test/helpers/faulty-dynamodb.ts): issue 13, defects 1 and 3
 * end to end. Delivery is the memory one; each behaviour runs for protocol 4 and 5.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../lib/broker';
import { MemoryDelivery } from '../../lib/gateway/memory-delivery';
import { silentLogger } from '../../lib/log';
import { createDecoder, decode, encode, type Packet, type ProtocolVersion, type Will } from '../../lib/mqtt';
import { noCredentialStore } from '../../lib/runtime/auth';
import { runDisconnectPath } from '../../lib/runtime/disconnect-path';
import { createHandlers } from '../../lib/runtime/handlers';
import { createMetrics } from '../../lib/runtime/metrics';
import { sweep } from '../../lib/runtime/sweeper';
import type { RouteHandlers, RuntimeDeps } from '../../lib/runtime/types';
import { dynamoStores } from '../../lib/store/dynamodb/index';
import { HELD_WILL_LEASE_MS } from '../../lib/store/session-reruns';
import { useDynamoTables } from '../helpers/dynamodb';
import { FaultyDynamoDb } from '../helpers/faulty-dynamodb';
import { connectEvent, connectPacket, persistentSession, text } from '../helpers/memory-runtime';

const db = await useDynamoTables();
const WILL: Will = { topic: 'status/press', payload: text('offline'), qos: 1, retain: false };

interface Rig {
  readonly faulty: FaultyDynamoDb;
  readonly deps: RuntimeDeps;
  readonly handlers: RouteHandlers;
  readonly delivery: MemoryDelivery;
  readonly wills: Will[];
  /** Moves the clock of the stores and the runtime forward. */
  advance(ms: number): void;
  open(id: string): Promise<void>;
  send(id: string, version: ProtocolVersion, packet: Packet): Promise<Packet[]>;
}

let seq = 0;

function rig(): Rig {
  const faulty = new FaultyDynamoDb(db.client);
  let offset = 0;
  const clock = () => Date.now() + offset;
  const stores = dynamoStores({ client: faulty.client, tables: db.names, clock });
  const wills: Will[] = [];
  const delivery = new MemoryDelivery();
  const deps: RuntimeDeps = {
    ...stores,
    scan: stores.connections as unknown as RuntimeDeps['scan'],
    maxQueued: 100,
    maxReceives: 5,
    publishWill: async (will) => {
      wills.push(will);
    },
    delivery,
    broker: parseBrokerConfig({ allowAnonymous: true }),
    authenticate: noCredentialStore(true),
    allowBinary: false,
    log: silentLogger,
    metrics: createMetrics(() => undefined),
    now: clock,
  };
  const handlers = createHandlers(deps);
  return {
    faulty,
    deps,
    handlers,
    delivery,
    wills,
    advance(ms) {
      offset += ms;
    },
    async open(id) {
      await handlers.connect(connectEvent(id, Date.now()));
      delivery.open(id);
    },
    async send(id, version, packet) {
      const before = delivery.received(id).byteLength;
      await handlers.message({
        requestContext: {
          domainName: 'abc.execute-api.eu-west-1.amazonaws.com',
          stage: 'mqtt',
          apiId: 'abc',
          identity: { sourceIp: '203.0.113.7' },
          connectionId: id,
          connectedAt: Date.now(),
          requestTimeEpoch: Date.now() + ++seq,
          routeKey: '$default',
          eventType: 'MESSAGE',
          messageId: `${id}-${seq}`,
        },
        body: Buffer.from(encode(packet, version)).toString('base64'),
        isBase64Encoded: false,
      } as never);
      return decode(createDecoder({ protocolVersion: version }), delivery.received(id).slice(before)).packets;
    },
  };
}

describe.each([4, 5] as const)('CONNECT with resent writes on DynamoDB, protocol %i', (version) => {
  let r: Rig;
  let n = 0;
  const ids = () => ({ connectionId: `conn-${version}-${++n}-${Date.now()}=`, clientId: `press-${version}-${n}-${Date.now()}` });

  beforeEach(() => {
    r = rig();
  });

  it('[MQTT-3.2.2-3] a new persistent session whose claim was resent is Session Present 0', async () => {
    const { connectionId, clientId } = ids();
    await r.open(connectionId);
    r.faulty.inject({ kind: 'sdk-retry', command: 'UpdateItem', table: db.names.sessions });
    const [connack] = await r.send(connectionId, version, connectPacket(version, { clientId, ...persistentSession(version) }));
    expect(r.faulty.injected).toHaveLength(1);
    expect(connack).toMatchObject({ type: 'connack', reasonCode: 0, sessionPresent: false });
  });

  it('[MQTT-3.1.0-2] a CONNECT whose markConnected was resent is accepted, not taken for a second CONNECT', async () => {
    const { connectionId, clientId } = ids();
    await r.open(connectionId);
    r.faulty.inject({ kind: 'sdk-retry', command: 'UpdateItem', table: db.names.connections });
    const answer = await r.send(connectionId, version, connectPacket(version, { clientId }));
    expect(answer).toEqual([expect.objectContaining({ type: 'connack', reasonCode: 0 })]);
    expect(r.delivery.closed).not.toContain(connectionId);
  });

  it('[MQTT-3.1.2-8] a disconnect path whose release response was lost publishes the will on its rerun, once', async () => {
    const { connectionId, clientId } = ids();
    await r.open(connectionId);
    await r.send(connectionId, version, connectPacket(version, { clientId, will: WILL, ...persistentSession(version) }));
    r.faulty.inject({ kind: 'lost-response', command: 'UpdateItem', table: db.names.sessions });
    await expect(runDisconnectPath(r.deps, connectionId, 'gone')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(r.wills).toEqual([]);
    r.delivery.simulateGone(connectionId);
    await sweep(r.deps); // the first run could still be publishing: left to it
    expect(r.wills).toEqual([]);
    r.advance(HELD_WILL_LEASE_MS);
    await sweep(r.deps); // the first run is taken for dead
    expect(r.wills).toEqual([WILL]);
    expect(await r.deps.connections.get(connectionId)).toBeUndefined();
    expect((await r.deps.sessions.get(clientId))?.connectionId).toBeUndefined();
    await runDisconnectPath(r.deps, connectionId, 'gone', { connectionId, mode: 'text', connectedAt: 0, expiresAt: 0, status: 'mqtt', clientId, hasWill: true });
    expect(r.wills).toEqual([WILL]);
  });
});
