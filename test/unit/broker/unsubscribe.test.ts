import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../lib/broker/decisions';
import { handlePacket } from '../../../lib/broker/handle';
import type { MqttConnectionState } from '../../../lib/broker/state';
import { connectedState, decided, intentOf, makeCtx, onlySent } from './fixtures';

function unsubscribe(state: MqttConnectionState, topicFilters: string[], existing: string[] = []): Decision {
  const ctx = makeCtx({ unsubscribe: { existingFilters: new Set(existing) } });
  return decided(handlePacket({ type: 'unsubscribe', packetId: 9, topicFilters }, state, ctx));
}

describe.each([4, 5] as const)('UNSUBSCRIBE, protocol %i', (v) => {
  it('deletes each filter and answers UNSUBACK with the packet id [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6]', () => {
    const d = unsubscribe(connectedState(v), ['a/#', '$share/g/b'], ['a/#', '$share/g/b']);
    expect(onlySent(d, 'unsuback').packetId).toBe(9);
    expect(intentOf(d, 'subscriptions.delete')).toEqual({
      kind: 'subscriptions.delete',
      clientId: 'sensor-1',
      filters: ['a/#', '$share/g/b'],
    });
  });

  it('answers UNSUBACK even when no subscription existed [MQTT-3.10.4-5]', () => {
    const d = unsubscribe(connectedState(v), ['x/y']);
    expect(onlySent(d, 'unsuback').packetId).toBe(9);
    expect(d.close).toBeNull();
  });

  it('deletes nothing for an invalid filter', () => {
    const d = unsubscribe(connectedState(v), ['a/#/b']);
    expect(d.intents).toEqual([]);
    expect(onlySent(d, 'unsuback').packetId).toBe(9);
  });
});

describe('UNSUBSCRIBE, protocol 4 only', () => {
  it('answers an UNSUBACK without reason codes (3.1.1 3.11)', () => {
    expect(onlySent(unsubscribe(connectedState(4), ['a', 'b'], ['a']), 'unsuback').reasonCodes).toEqual([]);
  });
});

describe('UNSUBSCRIBE, protocol 5 only', () => {
  it('gives 0x00 or 0x11 No subscription existed per filter, in order [MQTT-3.11.3-1] [MQTT-3.11.3-2]', () => {
    const d = unsubscribe(connectedState(5), ['a', 'b', '$share/g/c', 'd/#/e'], ['b', '$share/g/c']);
    expect(onlySent(d, 'unsuback').reasonCodes).toEqual([0x11, 0x00, 0x00, 0x8f]);
    expect(intentOf(d, 'subscriptions.delete')?.filters).toEqual(['a', 'b', '$share/g/c']);
  });

  it('compares filters character by character [MQTT-3.10.4-1]', () => {
    const d = unsubscribe(connectedState(5), ['a/+', 'A/+'], ['a/+']);
    expect(onlySent(d, 'unsuback').reasonCodes).toEqual([0x00, 0x11]);
  });
});
