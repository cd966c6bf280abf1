import { describe, expect, it } from 'vitest';
import { BRIDGE_DEFAULTS, parseBridgeOptions, redactUrl } from '../../../lib/client/bridge/options';
import { isLoopback, parseListenUrl } from '../../../lib/client/bridge/options';

const upstream = 'wss://abc123.execute-api.eu-west-1.amazonaws.com/mqtt';

describe('stratus bridge options', () => {
  it('defaults: one plain MQTT listener on 1883, no batching, a check at start', () => {
    const config = parseBridgeOptions({ upstream });
    expect(config.listen).toEqual([{ scheme: 'mqtt', host: '0.0.0.0', port: 1883, tls: false }]);
    expect(config).toMatchObject({ batchMs: 0, batchBytes: 23_988, check: true, logLevel: 'info' });
    expect(BRIDGE_DEFAULTS.listen).toBe('mqtt://0.0.0.0:1883');
  });

  it('parses every listener scheme, with default ports and IPv6 hosts', () => {
    expect(parseListenUrl('mqtts://0.0.0.0')).toMatchObject({ scheme: 'mqtts', port: 8883, tls: true });
    expect(parseListenUrl('ws://0.0.0.0:9001')).toMatchObject({ scheme: 'ws', port: 9001, tls: false });
    expect(parseListenUrl('wss://[::]:9443')).toMatchObject({ scheme: 'wss', host: '::', port: 9443, tls: true });
    expect(parseListenUrl('tcp://0.0.0.0:1883')).toMatch(/scheme must be/);
  });

  it('turns commander strings into numbers; several listeners with a certificate', () => {
    const config = parseBridgeOptions({
      upstream,
      listen: ['mqtt://0.0.0.0:1883', 'mqtts://0.0.0.0:8883'],
      batchMs: '50',
      cert: '/etc/stratus/cert.pem',
      key: '/etc/stratus/key.pem',
    });
    expect(config.batchMs).toBe(50);
    expect(config.listen).toHaveLength(2);
  });

  it('ws:// upstream only on a loopback host', () => {
    expect(parseBridgeOptions({ upstream: 'ws://127.0.0.1:8083/mqtt' }).upstream).toBe('ws://127.0.0.1:8083/mqtt');
    expect(() => parseBridgeOptions({ upstream: 'ws://broker.example.com/mqtt' })).toThrow(/--upstream: must be wss/);
    expect(['localhost', '127.0.0.1', '127.1.2.3', '[::1]'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', 'example.com', '0.0.0.0'].some(isLoopback)).toBe(false);
  });

  it.each([
    [{}, /--upstream/],
    [{ upstream: 'mqtt://x:1883' }, /--upstream/],
    [{ upstream, listen: ['udp://0.0.0.0:1'] }, /--listen/],
    [{ upstream, listen: ['wss://0.0.0.0:443'] }, /--cert/],
    [{ upstream, listen: ['mqtts://0.0.0.0:8883'], cert: 'c.pem' }, /--key/],
    [{ upstream, batchMs: 'soon' }, /--batch-ms/],
    [{ upstream, batchBytes: '200000' }, /--batch-bytes/],
    [{ upstream, logLevel: 'chatty' }, /--log-level/],
  ])('names the bad option in one line: %o', (raw, pattern) => {
    expect(() => parseBridgeOptions(raw)).toThrow(pattern);
    try {
      parseBridgeOptions(raw);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('redacts credentials and the query string (API Gateway tokens) from URLs in logs', () => {
    expect(redactUrl('wss://user:pw@abc.example.com/mqtt?token=secret')).toBe('wss://abc.example.com/mqtt?…');
    expect(redactUrl(upstream)).toBe(upstream);
  });
});
