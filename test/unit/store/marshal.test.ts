import { describe, expect, it } from 'vitest';
import { connectionCodec } from '../../../lib/store/dynamodb/connection-store';
import { bool, num, numOneOf, optional, recordCodec, required, str, strOneOf } from '../../../lib/store/dynamodb/marshal';
import { CorruptItemError } from '../../../lib/store/errors';
import type { ConnectionRecord } from '../../../lib/store/ports';

interface Sample {
  id: string;
  count: number;
  flag?: boolean;
  kind: 'a' | 'b';
  level?: 3 | 4 | 5;
}

const sample = recordCodec<Sample>('samples', {
  id: required(str),
  count: required(num),
  flag: optional(bool),
  kind: required(strOneOf(['a', 'b'])),
  level: optional(numOneOf([3, 4, 5])),
});

describe('recordCodec', () => {
  it('round-trips every attribute type', () => {
    const record: Sample = { id: 'x', count: 1.5, flag: false, kind: 'b', level: 5 };
    const item = sample.toItem(record);
    expect(item).toEqual({
      id: { S: 'x' },
      count: { N: '1.5' },
      flag: { BOOL: false },
      kind: { S: 'b' },
      level: { N: '5' },
    });
    expect(sample.fromItem(item)).toEqual(record);
  });

  it('leaves undefined optional fields out of the item', () => {
    expect(sample.toItem({ id: 'x', count: 0, kind: 'a', flag: undefined })).toEqual({
      id: { S: 'x' },
      count: { N: '0' },
      kind: { S: 'a' },
    });
  });

  it('encodes only the given fields for an update', () => {
    expect(sample.toAttributes({ flag: true })).toEqual({ flag: { BOOL: true } });
  });

  it('ignores attributes it does not know', () => {
    expect(sample.fromItem({ id: { S: 'x' }, count: { N: '2' }, kind: { S: 'a' }, extra: { S: '?' } })).toEqual({
      id: 'x',
      count: 2,
      kind: 'a',
    });
  });

  it('throws CorruptItemError for a missing required attribute', () => {
    expect(() => sample.fromItem({ id: { S: 'x' }, kind: { S: 'a' } })).toThrow(CorruptItemError);
  });

  it.each([
    ['a number stored as a string', { id: { S: 'x' }, count: { S: '1' }, kind: { S: 'a' } }],
    ['a value outside the allowed strings', { id: { S: 'x' }, count: { N: '1' }, kind: { S: 'c' } }],
    ['a value outside the allowed numbers', { id: { S: 'x' }, count: { N: '1' }, kind: { S: 'a' }, level: { N: '6' } }],
  ])('throws CorruptItemError for %s', (_, item) => {
    expect(() => sample.fromItem(item)).toThrow(CorruptItemError);
  });

  it('refuses to write a record without a required field, or a non-finite number', () => {
    expect(() => sample.toItem({ id: 'x', kind: 'a' } as Sample)).toThrow(TypeError);
    expect(() => sample.toItem({ id: 'x', count: Number.NaN, kind: 'a' })).toThrow(RangeError);
  });
});

describe('connectionCodec', () => {
  it('round-trips a connection after CONNECT', () => {
    const record: ConnectionRecord = {
      connectionId: 'c1',
      mode: 'text',
      connectedAt: 1_700_000_000_123,
      requestTimeEpoch: 1_700_000_000_100,
      sourceIp: '192.0.2.1',
      status: 'mqtt',
      clientId: 'plant-7',
      protocolVersion: 4,
      keepAlive: 60,
      cleanStart: true,
      username: 'u',
      mqttConnectedAt: 1_700_000_000_500,
      expiresAt: 1_700_007_200,
    };
    expect(connectionCodec.fromItem(connectionCodec.toItem(record))).toEqual(record);
  });
});
