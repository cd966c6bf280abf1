import { describe, expect, it } from 'vitest';
import { CountingMeter, noopMeter } from '../../../lib/store/meter';

describe('CountingMeter', () => {
  it('totals units by operation and by table', () => {
    const meter = new CountingMeter();
    meter.record({ operation: 'PutItem', table: 'connections', readUnits: 0, writeUnits: 3 });
    meter.record({ operation: 'GetItem', table: 'connections', readUnits: 0.5, writeUnits: 0 });
    meter.record({ operation: 'GetItem', table: 'sessions', readUnits: 1, writeUnits: 0 });
    const snapshot = meter.snapshot();
    expect(snapshot).toMatchObject({ requests: 3, readUnits: 1.5, writeUnits: 3 });
    expect(snapshot.byOperation).toEqual({
      PutItem: { requests: 1, readUnits: 0, writeUnits: 3 },
      GetItem: { requests: 2, readUnits: 1.5, writeUnits: 0 },
    });
    expect(snapshot.byTable).toEqual({
      connections: { requests: 2, readUnits: 0.5, writeUnits: 3 },
      sessions: { requests: 1, readUnits: 1, writeUnits: 0 },
    });
    expect(snapshot.entries).toHaveLength(3);
  });

  it('snapshots are independent of later records', () => {
    const meter = new CountingMeter();
    meter.record({ operation: 'PutItem', table: 't', readUnits: 0, writeUnits: 1 });
    const before = meter.snapshot();
    meter.record({ operation: 'PutItem', table: 't', readUnits: 0, writeUnits: 1 });
    expect(before.writeUnits).toBe(1);
    expect(meter.snapshot().writeUnits).toBe(2);
  });

  it('take() snapshots and resets, one MQTT operation at a time', () => {
    const meter = new CountingMeter();
    meter.record({ operation: 'UpdateItem', table: 't', readUnits: 0, writeUnits: 1 });
    expect(meter.take().writeUnits).toBe(1);
    expect(meter.snapshot()).toEqual({ requests: 0, readUnits: 0, writeUnits: 0, byOperation: {}, byTable: {}, entries: [] });
  });

  it('reset() forgets everything', () => {
    const meter = new CountingMeter();
    meter.record({ operation: 'DeleteItem', table: 't', readUnits: 0, writeUnits: 1 });
    meter.reset();
    expect(meter.snapshot().requests).toBe(0);
  });

  it('noopMeter accepts records', () => {
    expect(() => noopMeter.record({ operation: 'PutItem', table: 't', readUnits: 0, writeUnits: 1 })).not.toThrow();
  });
});
