import { describe, expect, it } from 'vitest';
import { planResend, type InflightEntry } from '../../../lib/broker/flow';
import { bytes } from './fixtures';

describe.each([4, 5] as const)('planResend, protocol %i', (v) => {
  const publish = (packetId: number, qos: 1 | 2) => ({
    type: 'publish' as const,
    topic: `t/${packetId}`,
    payload: bytes('x'),
    qos,
    retain: false,
    dup: false,
    packetId,
    ...(v === 5 ? { properties: { messageExpiryInterval: 1 } } : {}),
  });

  it('resends unacknowledged PUBLISH with DUP 1 and the original packet id, and PUBREL, in first-sent order [MQTT-4.4.0-1] [MQTT-3.3.1-1]', () => {
    const inflight: InflightEntry[] = [
      { kind: 'publish', sequence: 3, packet: publish(30, 2) },
      { kind: 'pubrel', sequence: 1, packetId: 10 },
      { kind: 'publish', sequence: 2, packet: publish(20, 1) },
    ];
    expect(planResend(inflight)).toEqual([
      { type: 'pubrel', packetId: 10 },
      { ...publish(20, 1), dup: true },
      { ...publish(30, 2), dup: true },
    ]);
  });

  it('keeps the packet as sent, expiry included: no expiry once sent [MQTT-4.3.3-7]', () => {
    const [p] = planResend([{ kind: 'publish', sequence: 1, packet: publish(7, 1) }]);
    expect(p).toEqual({ ...publish(7, 1), dup: true });
  });

  it('resends nothing when nothing is in flight', () => {
    expect(planResend([])).toEqual([]);
  });
});
