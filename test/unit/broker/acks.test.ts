import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../lib/broker/decisions';
import { handlePacket } from '../../../lib/broker/handle';
import type { AckInputs } from '../../../lib/broker/state';
import type { Packet } from '../../../lib/mqtt/types';
import { connectedState, decided, makeCtx, onlySent } from './fixtures';

function handle(v: 4 | 5, packet: Packet, ack?: AckInputs): Decision {
  return decided(handlePacket(packet, connectedState(v), makeCtx({ ack })));
}

const ids = { clientId: 'sensor-1', packetId: 21 };

describe.each([4, 5] as const)('acknowledgements from the client, protocol %i', (v) => {
  it('PUBACK ends the QoS 1 flight, sending nothing [MQTT-4.3.2-3]', () => {
    const d = handle(v, { type: 'puback', packetId: 21 });
    expect(d.send).toEqual([]);
    expect(d.intents).toEqual([{ kind: 'inflight.ack', ...ids }]);
    expect(d.close).toBeNull();
  });

  it('PUBREC is answered by PUBREL with the same packet id, kept in flight [MQTT-4.3.3-4] [MQTT-4.3.3-5]', () => {
    const d = handle(v, { type: 'pubrec', packetId: 21 });
    expect(onlySent(d, 'pubrel')).toEqual({ type: 'pubrel', packetId: 21 });
    expect(d.intents).toEqual([{ kind: 'inflight.released', ...ids }]);
  });

  it('PUBCOMP ends the QoS 2 flight, sending nothing [MQTT-4.3.3-5]', () => {
    const d = handle(v, { type: 'pubcomp', packetId: 21 });
    expect(d.send).toEqual([]);
    expect(d.intents).toEqual([{ kind: 'inflight.complete', ...ids }]);
  });

  it('PUBREL is answered by PUBCOMP with the same packet id and releases the record [MQTT-4.3.3-11] [MQTT-4.3.3-12]', () => {
    const d = handle(v, { type: 'pubrel', packetId: 21 });
    expect(onlySent(d, 'pubcomp')).toEqual({ type: 'pubcomp', packetId: 21 });
    expect(d.intents).toEqual([{ kind: 'qos2.release', ...ids }]);
  });

  it('PUBREL for an unknown packet id (e.g. overtaking, or repeated on resume) still gets PUBCOMP [MQTT-4.3.3-11] [MQTT-4.4.0-1]', () => {
    const d = handle(v, { type: 'pubrel', packetId: 21 }, { packetIdKnown: false });
    expect(onlySent(d, 'pubcomp').packetId).toBe(21);
    expect(d.intents).toEqual([{ kind: 'qos2.release', ...ids }]);
  });

  it('acks before CONNECT close the connection without a reply [MQTT-3.1.0-1]', () => {
    const d = decided(handlePacket({ type: 'pubrel', packetId: 1 }, { status: 'open' }, makeCtx()));
    expect(d.send).toEqual([]);
    expect(d.close?.reason).toBe('connect-expected');
  });
});

describe('acknowledgements, protocol 4 only', () => {
  it('PUBREL for an unknown packet id gets a plain PUBCOMP (3.1.1 has no reason code)', () => {
    expect(onlySent(handle(4, { type: 'pubrel', packetId: 21 }, { packetIdKnown: false }), 'pubcomp')).toEqual({ type: 'pubcomp', packetId: 21 });
  });

  it('PUBREC for an unknown packet id still gets PUBREL, and writes nothing', () => {
    const d = handle(4, { type: 'pubrec', packetId: 21 }, { packetIdKnown: false });
    expect(onlySent(d, 'pubrel')).toEqual({ type: 'pubrel', packetId: 21 });
    expect(d.intents).toEqual([]);
  });
});

describe('acknowledgements, protocol 5 only', () => {
  it('PUBREL for an unknown packet id gets PUBCOMP 0x92 Packet Identifier not found (3.7.2.1)', () => {
    expect(onlySent(handle(5, { type: 'pubrel', packetId: 21 }, { packetIdKnown: false }), 'pubcomp').reasonCode).toBe(0x92);
  });

  it('PUBREC for an unknown packet id gets PUBREL 0x92 and writes nothing (3.6.2.1)', () => {
    const d = handle(5, { type: 'pubrec', packetId: 21 }, { packetIdKnown: false });
    expect(onlySent(d, 'pubrel').reasonCode).toBe(0x92);
    expect(d.intents).toEqual([]);
  });

  it('PUBREC with a failure code ends the flight without PUBREL [MQTT-4.4.0-2]', () => {
    const d = handle(5, { type: 'pubrec', packetId: 21, reasonCode: 0x97 });
    expect(d.send).toEqual([]);
    expect(d.intents).toEqual([{ kind: 'inflight.ack', ...ids }]);
  });

  it('PUBACK with a failure code ends the flight too [MQTT-4.4.0-2]', () => {
    expect(handle(5, { type: 'puback', packetId: 21, reasonCode: 0x80 }).intents).toEqual([{ kind: 'inflight.ack', ...ids }]);
  });

  it('PUBREC with 0x10 No matching subscribers is a success: PUBREL [MQTT-4.3.3-4]', () => {
    expect(onlySent(handle(5, { type: 'pubrec', packetId: 21, reasonCode: 0x10 }), 'pubrel').packetId).toBe(21);
  });
});
