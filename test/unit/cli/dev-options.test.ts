import { describe, expect, it } from 'vitest';
import { DEV_DEFAULTS, parseDevOptions } from '../../../lib/cli/dev-options';

describe('stratus dev options', () => {
  it('defaults to ws://127.0.0.1:8083/mqtt, lenient, anonymous allowed', () => {
    const options = parseDevOptions({});
    expect(options).toMatchObject({ host: '127.0.0.1', port: 8083, stage: 'mqtt', strict: false, auth: false });
    expect(DEV_DEFAULTS.port).toBe(8083);
  });

  it('--ingress is ordered by default, takes direct, and refuses anything else', () => {
    expect(parseDevOptions({})).toMatchObject({ ingress: 'ordered', ingressConsumers: 4 });
    expect(parseDevOptions({ ingress: 'direct', jitterMs: '50' })).toMatchObject({ ingress: 'direct', jitterMs: 50 });
    expect(parseDevOptions({ ingressConsumers: '16' }).ingressConsumers).toBe(16);
  });

  it('--swap-fraction is 0 by default and takes a fraction from 0 to 1', () => {
    expect(parseDevOptions({}).swapFraction).toBe(0);
    expect(parseDevOptions({ swapFraction: '0.3' }).swapFraction).toBe(0.3);
    expect(parseDevOptions({ swapFraction: '1' }).swapFraction).toBe(1);
  });

  it('--store is dynamodb by default and takes memory, without DynamoDB Local options', () => {
    expect(parseDevOptions({}).store).toBe('dynamodb');
    expect(parseDevOptions({ store: 'memory' }).store).toBe('memory');
    expect(() => parseDevOptions({ store: 'sqlite' })).toThrow(/^invalid --store: /);
    expect(() => parseDevOptions({ store: 'memory', data: '/tmp/x' })).toThrow(/^invalid --data: .*--store memory/);
    expect(() => parseDevOptions({ store: 'memory', dynamodbEndpoint: 'http://127.0.0.1:8000' })).toThrow(/^invalid --dynamodb-endpoint: /);
    expect(() => parseDevOptions({ store: 'memory', auth: true })).toThrow(/^invalid --auth: /);
    expect(parseDevOptions({ store: 'memory', auth: true, jwtIssuer: 'https://idp.example', jwtAudience: 'mqtt', jwtJwksUrl: 'https://idp.example/jwks' }).auth).toBe(true);
  });

  it('--tcp is off by default and takes a port (0 picks a free one)', () => {
    expect(parseDevOptions({}).tcp).toBeUndefined();
    expect(parseDevOptions({ tcp: '1883' }).tcp).toBe(1883);
    expect(parseDevOptions({ tcp: '0' }).tcp).toBe(0);
  });

  it('--publish-rate and --publish-burst: the per-client limit, by default as deployed (100 a second, bursts of 200); 0 turns it off', () => {
    expect(parseDevOptions({})).toMatchObject({ publishRate: 100, publishBurst: 200 });
    expect(parseDevOptions({ publishRate: '5', publishBurst: '20' })).toMatchObject({ publishRate: 5, publishBurst: 20 });
    expect(parseDevOptions({ publishRate: '0.5' }).publishRate).toBe(0.5);
    expect(parseDevOptions({ publishRate: '0' }).publishRate).toBe(0);
  });

  it('turns commander strings into numbers', () => {
    expect(parseDevOptions({ port: '0', jitterMs: '25', dropDisconnectRate: '0.5' })).toMatchObject({
      port: 0,
      jitterMs: 25,
      dropDisconnectRate: 0.5,
    });
  });

  it.each([
    [{ port: '70000' }, /--port/],
    [{ port: 'abc' }, /--port/],
    [{ dropDisconnectRate: '2' }, /--drop-disconnect-rate/],
    [{ stage: 'a/b' }, /--stage/],
    [{ dynamodbEndpoint: 'not a url' }, /--dynamodb-endpoint/],
    [{ tcp: '70000' }, /--tcp/],
    [{ ingress: 'fifo' }, /--ingress/],
    [{ ingressConsumers: '0' }, /--ingress-consumers/],
    [{ swapFraction: '1.5' }, /--swap-fraction/],
    [{ swapFraction: '-0.1' }, /--swap-fraction/],
    [{ swapFraction: 'half' }, /--swap-fraction/],
    [{ swapFraction: '0.2', ingress: 'direct' }, /--swap-fraction: needs --ingress ordered/],
    [{ publishRate: '-1' }, /--publish-rate/],
    [{ publishRate: 'fast' }, /--publish-rate/],
    [{ publishRate: '' }, /--publish-rate/],
    [{ publishRate: '2000000' }, /--publish-rate/],
    [{ publishBurst: '0' }, /--publish-burst/],
    [{ publishBurst: '2.5' }, /--publish-burst/],
    [{ jwtIssuer: 'https://login.example/' }, /--jwt-audience/],
    [{ jwtIssuer: 'i', jwtAudience: 'a', jwtJwksUrl: 'ftp://keys' }, /--jwt-jwks-url/],
    [{ jwtUsernameClaim: 'email' }, /--jwt-issuer/],
  ])('names the bad option in one line: %o', (raw, pattern) => {
    expect(() => parseDevOptions(raw)).toThrow(pattern);
    try {
      parseDevOptions(raw);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('takes the JWT settings together', () => {
    const jwt = { jwtIssuer: 'https://login.example/', jwtAudience: 'stratus', jwtJwksUrl: 'https://login.example/jwks.json' };
    expect(parseDevOptions(jwt)).toMatchObject(jwt);
  });
});
