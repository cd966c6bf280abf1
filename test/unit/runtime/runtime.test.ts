import { describe, expect, it } from 'vitest';
import { noCredentialStore } from '../../../lib/runtime/auth';
import { ConfigurationError, loadConfig } from '../../../lib/runtime/config';
import { runtimeFromEnv } from '../../../lib/runtime/deps';
import { InvalidBrokerConfigError } from '../../../lib/broker';
import { createLogger } from '../../../lib/log';
import { createMetrics } from '../../../lib/runtime/metrics';
import { TABLE_IDS, tableEnvVar } from '../../../lib/store/schema';
import type { ConnectPacket } from '../../../lib/mqtt';

const tablesEnv = {
  ...Object.fromEntries(TABLE_IDS.map((id) => [tableEnvVar(id), `t-${id}`])),
  STRATUS_MANAGEMENT_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/mqtt',
};

describe('loadConfig', () => {
  it('reads every table name and defaults to refusing anonymous clients', () => {
    const config = loadConfig(tablesEnv);
    expect(config.tables.connections).toBe('t-connections');
    expect(config.allowAnonymous).toBe(false);
    expect(config.logLevel).toBe('info');
  });

  it('names the variable that is missing', () => {
    const env = { ...tablesEnv, [tableEnvVar('connections')]: undefined };
    expect(() => loadConfig(env)).toThrow(ConfigurationError);
    expect(() => loadConfig(env)).toThrow(/STRATUS_TABLE_CONNECTIONS/);
  });

  it('refuses a maximum packet size above what one API Gateway message carries', () => {
    expect(() => loadConfig({ ...tablesEnv, STRATUS_MAX_PACKET_SIZE: '131072' })).toThrow(/STRATUS_MAX_PACKET_SIZE/);
  });

  it('requires the @connections endpoint: wills and the sweeper have no event to derive it from', () => {
    expect(() => loadConfig({ ...tablesEnv, STRATUS_MANAGEMENT_ENDPOINT: undefined })).toThrow(/STRATUS_MANAGEMENT_ENDPOINT/);
  });

  it('reads the CONNACK capabilities as a JSON object, and names the variable when it is not one', () => {
    expect(loadConfig({ ...tablesEnv, STRATUS_CAPABILITIES: '{"receiveMaximum":10}' }).capabilities).toEqual({ receiveMaximum: 10 });
    expect(loadConfig(tablesEnv).capabilities).toEqual({});
    expect(() => loadConfig({ ...tablesEnv, STRATUS_CAPABILITIES: '[1]' })).toThrow(/STRATUS_CAPABILITIES/);
    expect(() => loadConfig({ ...tablesEnv, STRATUS_CAPABILITIES: '{oops' })).toThrow(/STRATUS_CAPABILITIES/);
  });

  it('applies the capabilities to the broker config and refuses unknown or out-of-range ones at cold start', () => {
    const deps = runtimeFromEnv({ ...tablesEnv, STRATUS_CAPABILITIES: '{"receiveMaximum":10,"maximumQoS":1}' });
    expect(deps.broker).toMatchObject({ receiveMaximum: 10, maximumQoS: 1 });
    expect(() => runtimeFromEnv({ ...tablesEnv, STRATUS_CAPABILITIES: '{"receiveMaximun":10}' })).toThrow(InvalidBrokerConfigError);
    expect(() => runtimeFromEnv({ ...tablesEnv, STRATUS_CAPABILITIES: '{"receiveMaximum":0}' })).toThrow(InvalidBrokerConfigError);
  });

  it('refuses a malformed boolean', () => {
    expect(() => loadConfig({ ...tablesEnv, STRATUS_ALLOW_ANONYMOUS: 'yes' })).toThrow(/STRATUS_ALLOW_ANONYMOUS/);
  });
});

describe('logger', () => {
  it('writes one JSON object per line and never a credential', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) }).child({ connectionId: 'c1' });
    log.info('connect', { clientId: 'dev', password: 'hunter2', authorization: 'Bearer x', token: 'y' });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 'info', msg: 'connect', connectionId: 'c1', clientId: 'dev' });
    expect(lines[0]).not.toMatch(/hunter2|Bearer x/);
  });

  it('drops lines below its level', () => {
    const lines: string[] = [];
    createLogger({ level: 'warn', write: (l) => lines.push(l) }).info('quiet');
    expect(lines).toEqual([]);
  });
});

describe('metrics (embedded metric format)', () => {
  it('flushes one EMF line with the summed values, then nothing', () => {
    const lines: string[] = [];
    const metrics = createMetrics((l) => lines.push(l), () => 1000);
    metrics.add('MessagesIn');
    metrics.add('MessagesIn');
    metrics.add('BytesIn', 42);
    metrics.flush();
    metrics.flush();
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ MessagesIn: 2, BytesIn: 42, _aws: { Timestamp: 1000 } });
    expect(line._aws.CloudWatchMetrics[0].Namespace).toBe('Stratus');
  });

  it('batched: holds traffic counters back across flushes until the batch is a minute old', () => {
    const lines: string[] = [];
    let clock = 0;
    const metrics = createMetrics((l) => lines.push(l), () => clock, { batchMs: 60_000 });
    metrics.add('MessagesIn');
    metrics.flush();
    clock = 30_000;
    metrics.add('MessagesIn');
    metrics.add('BytesOut', 10);
    metrics.flush();
    expect(lines).toEqual([]);
    clock = 60_000;
    metrics.flush();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ MessagesIn: 2, BytesOut: 10, _aws: { Timestamp: 60_000 } });
    metrics.flush();
    expect(lines).toHaveLength(1);
  });

  it('batched: a failure or refusal counter is written at the next flush, with the held traffic', () => {
    const lines: string[] = [];
    const metrics = createMetrics((l) => lines.push(l), () => 0, { batchMs: 60_000 });
    metrics.add('MessagesIn', 3);
    metrics.flush();
    expect(lines).toEqual([]);
    metrics.add('DeliveryErrors');
    metrics.flush();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ MessagesIn: 3, DeliveryErrors: 1 });
  });
});

describe('authentication without a credential store', () => {
  const connect: ConnectPacket = {
    type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 60, clientId: 'c',
    username: 'someone', password: new TextEncoder().encode('anything'),
  };

  it('refuses everyone, credentials or not, unless anonymous access is allowed', async () => {
    expect(await noCredentialStore(false)(connect)).toEqual({ ok: false, reason: 'not-authorized' });
    expect(await noCredentialStore(true)(connect)).toEqual({ ok: true });
  });
});
