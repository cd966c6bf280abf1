/**
 * The contract between the stack and the runtime: the environment the stack sets is what the
 * handlers' config accepts, and both sides spell the metric names and limits the same way.
 * (lib/infra never imports runtime code; this test may.)
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { INGRESS_MAX_RECEIVES } from '../../lib/infra/ingress';
import { ALL_METRIC_NAMES, METRICS_NAMESPACE } from '../../lib/infra/metrics';
import { runtimeEnvironment } from '../../lib/infra/mqtt-broker';
import { resolveBrokerProps } from '../../lib/infra/props-validation';
import { loadConfig } from '../../lib/runtime/config';
import { METRIC_NAMESPACE, createMetrics, type MetricName } from '../../lib/runtime/metrics';
import { TABLE_IDS, tableNamesForPrefix } from '../../lib/store/schema';

beforeEach(() => {
  expect.hasAssertions();
});

const ENDPOINT = 'https://abc123.execute-api.eu-west-1.amazonaws.com/mqtt';

describe('stack ⇄ runtime contract', () => {
  it('the runtime config accepts the environment the stack sets, with every value carried', () => {
    const config = resolveBrokerProps({ allowAnonymous: true, logLevel: 'warn', maxQueuedMessages: 50 });
    const names = tableNamesForPrefix('stratus-');
    const runtime = loadConfig(runtimeEnvironment(config, names, ENDPOINT));
    expect(runtime).toMatchObject({
      tables: names,
      managementEndpoint: ENDPOINT,
      allowAnonymous: true,
      maxPacketSize: config.maxPacketSize,
      maxSessionExpiry: config.maxSessionExpirySeconds,
      maxQueue: 50,
      logLevel: 'warn',
    });
    expect(Object.keys(runtime.tables).sort()).toEqual([...TABLE_IDS].sort());
  });

  it("ordered ingress: the runtime's last attempt is the queue's maxReceiveCount", () => {
    const env = runtimeEnvironment(resolveBrokerProps({ ingress: 'ordered' }), tableNamesForPrefix('stratus-'), ENDPOINT);
    expect(env.STRATUS_INGRESS_MAX_RECEIVES).toBe(String(INGRESS_MAX_RECEIVES));
    expect(loadConfig(env).maxReceives).toBe(INGRESS_MAX_RECEIVES);
  });

  it('direct ingress: no maxReceiveCount is set, and the runtime config accepts that', () => {
    const env = runtimeEnvironment(resolveBrokerProps({ ingress: 'direct' }), tableNamesForPrefix('stratus-'), ENDPOINT);
    expect(env).not.toHaveProperty('STRATUS_INGRESS_MAX_RECEIVES');
    expect(loadConfig(env).maxReceives).toBeUndefined();
  });

  it('the runtime emits EMF in the namespace and under the names the alarms and dashboard read', () => {
    expect(METRIC_NAMESPACE).toBe(METRICS_NAMESPACE);
    const lines: string[] = [];
    const metrics = createMetrics((l) => lines.push(l), () => 0);
    for (const name of ALL_METRIC_NAMES) metrics.add(name as MetricName, 1);
    metrics.flush();
    const emf = JSON.parse(lines[0]) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
    const directive = emf._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    // The alarms read the metrics without dimensions.
    expect(directive.Dimensions).toEqual([[]]);
    expect(directive.Metrics.map((m) => m.Name).sort()).toEqual([...ALL_METRIC_NAMES].sort());
  });
});
