/**
 * Numbered client messages (docs/TRANSPORT.md section 3): `<seq>:<base64>`, seq 1 to 15 digits
 * with no leading zero. The body parser strips and checks the prefix; a malformed one is a
 * malformed frame; an unnumbered message is served as before.
 */
import { describe, expect, it } from 'vitest';
import { FramingError } from '../../../lib/gateway/errors';
import { decodeBody, parseNumbered } from '../../../lib/gateway/framing';
import { parseIngressEvent } from '../../../lib/gateway/ingress';
import { INGRESS_ATTRIBUTES } from '../../../lib/ingress-wire';

const PINGREQ = 'wAA=';

describe('parseNumbered', () => {
  it.each([
    ['1:wAA=', 1],
    ['10:wAA=', 10],
    ['999999999999999:wAA=', 999_999_999_999_999],
  ])('reads the sequence number of %s', (text, seq) => {
    expect(parseNumbered(text)).toEqual({ seq, base64: PINGREQ });
  });

  it('leaves an unnumbered message whole', () => {
    expect(parseNumbered(PINGREQ)).toEqual({ seq: undefined, base64: PINGREQ });
    expect(parseNumbered('')).toEqual({ seq: undefined, base64: '' });
  });

  it.each([
    ['a leading zero', '01:wAA='],
    ['zero', '0:wAA='],
    ['more than 15 digits', '1000000000000000:wAA='],
    ['an empty number', ':wAA='],
    ['a non-digit', '1a:wAA='],
    ['a sign', '+1:wAA='],
    ['whitespace', ' 1:wAA='],
  ])('refuses %s as a malformed frame', (_why, text) => {
    expect(() => parseNumbered(text)).toThrow(FramingError);
    try {
      parseNumbered(text);
    } catch (error) {
      expect((error as FramingError).kind).toBe('malformed-seq');
    }
  });
});

describe('decodeBody with numbered messages', () => {
  it('strips the prefix and decodes the base64 after it', () => {
    expect([...decodeBody({ body: '7:wADAAA==', isBase64Encoded: false })]).toEqual([0xc0, 0x00, 0xc0, 0x00]);
    expect([...decodeBody({ body: PINGREQ, isBase64Encoded: false })]).toEqual([0xc0, 0x00]);
  });

  it.each(['01:wAA=', ':wAA=', '1:wAA', '1:2:wAA=', '1:wA A='])('refuses %s', (body) => {
    expect(() => decodeBody({ body, isBase64Encoded: false })).toThrow(FramingError);
  });

  it('never reads a prefix in a binary frame (lenient local mode)', () => {
    // The body of a binary frame is the base64 of its bytes: no prefix is possible there.
    expect([...decodeBody({ body: PINGREQ, isBase64Encoded: true }, { allowBinary: true })]).toEqual([0xc0, 0x00]);
  });
});

function queued(body: string, binary = false): object {
  const messageAttributes: Record<string, { stringValue: string; dataType: string }> = {
    [INGRESS_ATTRIBUTES.eventType]: { stringValue: 'MESSAGE', dataType: 'String' },
    [INGRESS_ATTRIBUTES.requestTimeEpoch]: { stringValue: '1800000000000', dataType: 'String' },
  };
  if (binary) messageAttributes[INGRESS_ATTRIBUTES.binary] = { stringValue: 'true', dataType: 'String' };
  return {
    messageId: 'm-1',
    body,
    attributes: { MessageGroupId: 'conn-1=', MessageDeduplicationId: 'req-1', ApproximateReceiveCount: '1' },
    messageAttributes,
  };
}

describe('parseIngressEvent and numbered frames', () => {
  it('exposes the sequence number and strips the prefix from the body', () => {
    const { records } = parseIngressEvent({ Records: [queued('42:wAA=')] });
    expect(records[0]).toMatchObject({ type: 'MESSAGE', seq: 42, body: PINGREQ });
  });

  it('leaves an unnumbered frame without a number', () => {
    const { records } = parseIngressEvent({ Records: [queued(PINGREQ)] });
    expect(records[0]).toMatchObject({ type: 'MESSAGE', body: PINGREQ });
    expect(records[0]).not.toHaveProperty('seq');
  });

  it('keeps a malformed prefix in the body, unnumbered: decoding it then fails as any malformed frame', () => {
    const { records, invalid } = parseIngressEvent({ Records: [queued('007:wAA=')] });
    expect(invalid).toEqual([]);
    expect(records[0]).toMatchObject({ type: 'MESSAGE', body: '007:wAA=' });
    expect(records[0]).not.toHaveProperty('seq');
    expect(() => decodeBody(records[0] as { body: string; isBase64Encoded: boolean })).toThrow(FramingError);
  });

  it('reads no number in a binary frame', () => {
    const { records } = parseIngressEvent({ Records: [queued(PINGREQ, true)] });
    expect(records[0]).toMatchObject({ type: 'MESSAGE', isBase64Encoded: true, body: PINGREQ });
    expect(records[0]).not.toHaveProperty('seq');
  });
});
