import { describe, expect, it } from 'vitest';
import { handlePacket } from '../../../lib/broker/handle';
import { connectedState, decided, makeCtx } from './fixtures';

describe.each([3, 4, 5] as const)('PINGREQ, protocol %i', (v) => {
  it('answers PINGRESP and writes nothing [MQTT-3.12.4-1]', () => {
    const state = connectedState(v);
    const d = decided(handlePacket({ type: 'pingreq' }, state, makeCtx()));
    expect(d.send).toEqual([{ type: 'pingresp' }]);
    expect(d.protocolVersion).toBe(v);
    expect(d.intents).toEqual([]);
    expect(d.close).toBeNull();
    expect(d.state).toBe(state);
  });
});

describe('PINGREQ before CONNECT', () => {
  it('closes without a reply [MQTT-3.1.0-1]', () => {
    const d = decided(handlePacket({ type: 'pingreq' }, { status: 'open' }, makeCtx()));
    expect(d.send).toEqual([]);
    expect(d.close?.reason).toBe('connect-expected');
  });
});
