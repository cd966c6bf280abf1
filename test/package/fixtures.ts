/**
 * The files of the temporary consumer project of the package test: what a device developer, an
 * infrastructure team and a CommonJS user would write, importing only the package's public entry
 * points.
 */

/** A plain Node ESM script: connects to argv[2], subscribes, publishes, prints what it receives. */
export const ECHO_SCRIPT = `import { connectAsync } from 'stratus-mqtt/client';

const url = process.argv[2];
const client = await connectAsync(url, { protocolVersion: 5, clientId: 'pack-echo-' + process.pid, reconnectPeriod: 0 });
await client.subscribeAsync('pack/echo', { qos: 1 });
const received = new Promise((resolve) => client.once('message', (topic, payload) => resolve(topic + ' ' + payload)));
await client.publishAsync('pack/echo', 'hello', { qos: 1 });
console.log('received ' + (await received));
await client.endAsync();
`;

/** The codec and the bridge entry points, from a plain Node ESM script. */
export const ENTRIES_SCRIPT = `const { encode, decodePacket } = await import('stratus-mqtt/mqtt');
const { startBridge } = await import('stratus-mqtt/bridge');
const bytes = encode({ type: 'pingreq' }, 5);
console.log([decodePacket(bytes, 5).type, typeof startBridge].join(' '));
`;

/** A tiny CDK app with the construct, synthesized into argv[2]. */
export const CDK_APP = `import { App, Stack } from 'aws-cdk-lib';
import { MqttBroker } from 'stratus-mqtt/cdk';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Plant');
new MqttBroker(stack, 'Broker', { allowAnonymous: true });
app.synth();
console.log('synthesized');
`;

/** CommonJS: require() either loads the client or says how to import it. */
export const REQUIRE_SCRIPT = `try {
  const client = require('stratus-mqtt/client');
  console.log(JSON.stringify({ loaded: typeof client.connect }));
} catch (error) {
  console.log(JSON.stringify({ error: error.message }));
}
`;

/** A browser page's module: the client as a web app imports it. */
export const BROWSER_ENTRY = `import { connect } from 'stratus-mqtt/client';

export function start(url) {
  return connect(url, { protocolVersion: 5 });
}
`;

export function packageJson(tarball: string): string {
  return `${JSON.stringify({ name: 'stratus-pack-test', private: true, type: 'module', dependencies: { 'stratus-mqtt': `file:${tarball}` } }, null, 2)}\n`;
}
