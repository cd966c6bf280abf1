/** The local gateway's injected integration failures (lib/local/error-frames.ts), without a gateway. */
import { describe, expect, it } from 'vitest';
import { GatewayErrorFrameError } from '../../../lib/client/errors';
import { ErrorFrameInjector, gatewayErrorFrame, type ClientFrame } from '../../../lib/local/error-frames';

const frame = (connectionId: string, body = '1:wAA='): ClientFrame => ({ connectionId, body, isBinary: false });

describe('ErrorFrameInjector', () => {
  it("answers API Gateway's error frame, which the client reads as GatewayErrorFrameError", () => {
    const injector = new ErrorFrameInjector();
    injector.add({});
    const text = injector.answer(frame('conn-1'))!;
    expect(JSON.parse(text)).toMatchObject({ message: 'Internal server error', connectionId: 'conn-1' });
    const error = GatewayErrorFrameError.fromText(text);
    expect(error).toMatchObject({ gatewayMessage: 'Internal server error', connectionId: 'conn-1' });
    expect(error?.requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(injector.injected).toBe(1);
  });

  it('answers `count` frames, then lets frames through', () => {
    const injector = new ErrorFrameInjector();
    injector.add({ count: 2, message: 'Endpoint request timed out' });
    const answers = [frame('a'), frame('a'), frame('a')].map((f) => injector.answer(f));
    expect(answers.map((a) => (a === undefined ? undefined : (JSON.parse(a) as { message: string }).message))).toEqual([
      'Endpoint request timed out',
      'Endpoint request timed out',
      undefined,
    ]);
    expect(injector.injected).toBe(2);
  });

  it('answers only the frames of its connection and its predicate, rules in the order added', () => {
    const injector = new ErrorFrameInjector();
    injector.add({ connectionId: 'b', message: 'Forbidden' });
    injector.add({ match: (f) => f.body.startsWith('7:'), message: 'Too Many Requests' });
    expect(injector.answer(frame('a'))).toBeUndefined();
    expect(JSON.parse(injector.answer(frame('a', '7:wAA='))!)).toMatchObject({ message: 'Too Many Requests' });
    expect(JSON.parse(injector.answer(frame('b', '7:wAA='))!)).toMatchObject({ message: 'Forbidden' });
    expect(injector.answer(frame('b', '7:wAA='))).toBeUndefined();
  });

  it('refuses a count that is not a positive integer', () => {
    expect(() => new ErrorFrameInjector().add({ count: 0 })).toThrow(RangeError);
  });

  it('spaces the JSON as API Gateway does', () => {
    expect(gatewayErrorFrame('Internal server error', 'c=', 'r=')).toBe('{"message": "Internal server error", "connectionId":"c=", "requestId":"r="}');
  });
});
