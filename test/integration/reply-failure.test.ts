/**
 * A reply that cannot be posted (the `@connections` POST fails: a reset socket, a 5xx) must not
 * leave the client waiting for its CONNACK or PUBACK until its own timeout: the connection is
 * closed, and the client reconnects. MQTT.js through the Stratus transport, protocols 4 and 5,
 * against local strict mode on DynamoDB Local; the delivery adapter is wrapped to fail on demand.
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { Delivery } from '../../lib/gateway/delivery';
import { createLogger } from '../../lib/log';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

/** First byte of a CONNACK (type 2, flags 0). */
const CONNACK = 0x20;

let broker: TestBroker;
const logged: string[] = [];
/** Client ids whose next CONNACK post fails. */
const failConnackFor = new Set<string>();
/** Connection ids the broker closed. */
const closed: string[] = [];

/** The delivery adapter, failing the next post of a CONNACK while a client id is in `failConnackFor`. */
function failing(inner: Delivery): Delivery {
  return {
    async send(connectionId, bytes, mode) {
      if (bytes[0] === CONNACK && failConnackFor.size > 0) {
        failConnackFor.clear();
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      }
      return inner.send(connectionId, bytes, mode);
    },
    async close(connectionId) {
      closed.push(connectionId);
      return inner.close(connectionId);
    },
    info: (connectionId) => inner.info(connectionId),
  };
}

beforeAll(async () => {
  broker = await startTestBroker({
    wrapDelivery: failing,
    log: createLogger({ level: 'warn', write: (line) => logged.push(line) }),
  });
});

afterAll(async () => {
  await broker?.dispose();
});

/** Resolves with how the first attempt ended: 'connack' or 'closed' (never waits for a timeout). */
function firstOutcome(c: MqttClient): Promise<'connack' | 'closed'> {
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve('connack'));
    c.once('close', () => resolve('closed'));
    c.once('error', reject);
  });
}

describe.each([4, 5] as const)('a reply that cannot be posted (protocol %i)', (version) => {
  it('closes the connection instead of leaving the client waiting for its CONNACK; the next attempt connects', async () => {
    const clientId = `rf-${randomUUID().slice(0, 8)}`;
    failConnackFor.add(clientId);
    const first = connect(broker.url, { protocolVersion: version, clientId, reconnectPeriod: 0, connectTimeout: 120_000 });
    try {
      expect(await firstOutcome(first)).toBe('closed');
    } finally {
      first.end(true);
    }
    expect(closed.length).toBeGreaterThan(0);
    expect(logged.some((line) => line.includes('replies not delivered'))).toBe(true);

    const second = connect(broker.url, { protocolVersion: version, clientId, reconnectPeriod: 0 });
    try {
      expect(await firstOutcome(second)).toBe('connack');
    } finally {
      await second.endAsync();
    }
  });
});
