/**
 * The pure parts of `stratus smoke`: how it reads a server frame (text or binary, base64, tagged,
 * API Gateway's error message), the URL's token handling, and where it finds whether a deployed
 * stack allows anonymous clients (the synthesized template of the real StratusStack).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { classifyFrame, FragmentJoiner } from '../../../lib/cli/smoke/frames';
import { displayUrl, urlWithoutToken, urlWithToken } from '../../../lib/cli/smoke/options';
import { allowAnonymousOf } from '../../../lib/cli/smoke/stack';
import { encode } from '../../../lib/mqtt';
import { synthStratus, type Synthesized } from '../../infra/synth';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const CONNACK = encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 4); // 20 02 00 00

describe('classifyFrame', () => {
  it('reads a text frame of padded base64 as MQTT', () => {
    expect(classifyFrame(bytes(Buffer.from(CONNACK).toString('base64')), false)).toEqual({ kind: 'mqtt', encoding: 'text', bytes: Buffer.from(CONNACK) });
  });

  it('reads a binary frame that holds base64 text as that text, and one of raw MQTT as raw bytes', () => {
    expect(classifyFrame(bytes('IAIAAA=='), true)).toMatchObject({ kind: 'mqtt', encoding: 'binary-base64', bytes: Buffer.from(CONNACK) });
    expect(classifyFrame(CONNACK, true)).toMatchObject({ kind: 'mqtt', encoding: 'binary-raw', bytes: CONNACK });
  });

  it('reads a tagged fragment, and joins the parts of a packet in any order', () => {
    const first = classifyFrame(bytes('Q2x1c3Rlcl8x.1.2:AAA='), false);
    const second = classifyFrame(bytes('Q2x1c3Rlcl8x.0.2:IAI='), false);
    expect(first).toMatchObject({ kind: 'fragment', id: 'Q2x1c3Rlcl8x', index: 1, count: 2 });
    const joiner = new FragmentJoiner();
    expect(joiner.add(first as Extract<typeof first, { kind: 'fragment' }>)).toBeUndefined();
    expect(joiner.add(second as Extract<typeof second, { kind: 'fragment' }>)).toEqual(Buffer.from(CONNACK));
  });

  it("recognises API Gateway's error message, in a text or a binary frame", () => {
    const text = '{"message": "Internal server error", "connectionId":"L0SM9cOFvHcCIhw=", "requestId":"L0SM9FJ0vHcFkMA="}';
    const expected = { kind: 'integration-error', body: { message: 'Internal server error', requestId: 'L0SM9FJ0vHcFkMA=', connectionId: 'L0SM9cOFvHcCIhw=', keys: ['message', 'connectionId', 'requestId'] } };
    expect(classifyFrame(bytes(text), false)).toEqual({ ...expected, encoding: 'text' });
    expect(classifyFrame(bytes(text), true)).toEqual({ ...expected, encoding: 'binary-base64' });
  });

  it('calls anything else unknown: unpadded base64, JSON without a message, a bad tag', () => {
    for (const text of ['IAIAAA', '{"error":"x"}', '{not json', 'abc.0.1:IAIAAA==', '']) {
      expect(classifyFrame(bytes(text), false).kind, text).toBe('unknown');
    }
  });
});

describe('the token in the URL', () => {
  it('goes in the query string, is left out for the anonymous client, and is never displayed', () => {
    const url = urlWithToken('wss://abc.execute-api.eu-west-1.amazonaws.com/mqtt', 'eyJ.a-b_c.d');
    expect(new URL(url).searchParams.get('token')).toBe('eyJ.a-b_c.d');
    expect(urlWithoutToken(url)).toBe('wss://abc.execute-api.eu-west-1.amazonaws.com/mqtt');
    expect(displayUrl(url)).toBe('wss://abc.execute-api.eu-west-1.amazonaws.com/mqtt?token=***');
  });
});

describe('allowAnonymousOf: the deployed template of a StratusStack', () => {
  const synths: Synthesized[] = [];
  afterAll(() => synths.forEach((s) => s.cleanup()));

  it.each([
    [{}, false],
    [{ allowAnonymous: true }, true],
  ])('props %j: %s', (broker, expected) => {
    const synth = synthStratus({ broker }, { bundling: false });
    synths.push(synth);
    expect(allowAnonymousOf(JSON.stringify(synth.template.toJSON()))).toBe(expected);
  }, 120_000);

  it('is unknown for a template without it, or that is not JSON', () => {
    expect(allowAnonymousOf(JSON.stringify({ Resources: { Q: { Type: 'AWS::SQS::Queue' } } }))).toBeUndefined();
    expect(allowAnonymousOf('Resources:\n  Q: {}')).toBeUndefined();
  });
});
