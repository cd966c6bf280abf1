import { describe, expect, it } from 'vitest';
import { claimIsNotOlder, sessionEpochOf, sweepShardOf, sweepShards, WILL_SWEEP_SHARDS } from '../../../lib/store/session-rules';

describe('session rules', () => {
  it('spreads client ids over the fixed sweep shards, stably', () => {
    const seen = new Set(Array.from({ length: 200 }, (_, i) => sweepShardOf(`client-${i}`)));
    expect([...seen].sort()).toEqual(sweepShards().sort());
    expect(sweepShards()).toHaveLength(WILL_SWEEP_SHARDS);
    expect(sweepShardOf('client-1')).toBe(sweepShardOf('client-1'));
  });

  it('session epochs are unique per claim and sort in claim order', () => {
    const epochs = [sessionEpochOf(999, 'b'), sessionEpochOf(1000, 'a'), sessionEpochOf(1000, 'b'), sessionEpochOf(12_000, 'a')];
    expect([...epochs].sort()).toEqual(epochs);
    expect(new Set(epochs).size).toBe(epochs.length);
  });

  it('a claim is not older than the owner when it arrived later, or at the same time with a higher connection id', () => {
    const owner = { ownerRequestTimeEpoch: 1000, ownerConnectionId: 'b' };
    expect(claimIsNotOlder({ requestTimeEpoch: 1001, connectionId: 'a' }, owner)).toBe(true);
    expect(claimIsNotOlder({ requestTimeEpoch: 1000, connectionId: 'c' }, owner)).toBe(true);
    expect(claimIsNotOlder({ requestTimeEpoch: 1000, connectionId: 'b' }, owner)).toBe(true);
    expect(claimIsNotOlder({ requestTimeEpoch: 1000, connectionId: 'a' }, owner)).toBe(false);
    expect(claimIsNotOlder({ requestTimeEpoch: 999, connectionId: 'z' }, owner)).toBe(false);
  });
});
