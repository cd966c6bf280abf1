/**
 * Codec throughput: Stratus (lib/mqtt) against mqtt-packet, measured in the same run.
 *
 *   npm run bench:codec              a Markdown table
 *   npm run bench:codec -- --json    one JSON object per row (NDJSON), nothing else on stdout
 *   npm run bench:codec -- --filter PUBLISH
 *
 * Encode: our `encode` vs mqtt-packet `generate`. Decode: a long-lived incremental decoder on
 * each side, fed one whole packet per call: our `createDecoder` + `decode(state, chunk)` vs
 * mqtt-packet `parser(opts)` + `parse(buf)`, counting the packets each returns or emits. Both
 * decode the same bytes (ours, checked to be as long as mqtt-packet's and to parse in both).
 */

import { cpus, loadavg } from 'node:os';
import * as mqttPacket from 'mqtt-packet';
import { STRATUS, type StratusCodec } from './lib/stratus-codec';
import { parseBenchArgs } from './lib/options';
import { compare, formatInteger, markdownTable, sinkValue } from './lib/timing';
import type { Packet as ReferencePacket } from 'mqtt-packet';
import type { Packet, ProtocolVersion } from '../lib/mqtt/types';

interface BenchCase {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  reference: ReferencePacket;
}

interface Row {
  name: string;
  op: 'decode' | 'encode';
  stratusOpsPerSec: number;
  referenceOpsPerSec: number;
  ratio: number;
  bytes: number;
  stratusMBps: number;
  referenceMBps: number;
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

const TOPIC = 'plant/berlin/line-3/press-7/telemetry';

/** Deterministic pseudo-random bytes, so every run encodes the same payload. */
function payloadOf(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  let x = 0x2545f491;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

function publishCase(label: string, size: number, version: 4 | 5): BenchCase {
  const payload = payloadOf(size);
  const v5 = version === 5;
  return {
    name: `PUBLISH ${label} ${v5 ? '5.0' : '3.1.1'}`,
    version,
    packet: {
      type: 'publish',
      topic: TOPIC,
      payload,
      qos: 1,
      retain: false,
      dup: false,
      packetId: 4242,
      ...(v5 && {
        properties: {
          topicAlias: 7,
          contentType: 'application/json',
          userProperties: [['trace-id', '4bf92f3577b34da6']],
        },
      }),
    },
    reference: {
      cmd: 'publish',
      topic: TOPIC,
      payload,
      qos: 1,
      retain: false,
      dup: false,
      messageId: 4242,
      ...(v5 && {
        properties: {
          topicAlias: 7,
          contentType: 'application/json',
          userProperties: { 'trace-id': '4bf92f3577b34da6' },
        },
      }),
    },
  };
}

const FILTERS: [string, 0 | 1 | 2][] = [
  ['plant/berlin/line-3/+/telemetry', 1],
  ['plant/berlin/line-3/press-7/#', 2],
  ['plant/+/alarms', 1],
  ['$SYS/broker/clients/connected', 0],
  ['fleet/truck-0042/gps', 0],
];

function subscribeCase(version: 4 | 5): BenchCase {
  return {
    name: `SUBSCRIBE 5 filters ${version === 5 ? '5.0' : '3.1.1'}`,
    version,
    packet: {
      type: 'subscribe',
      packetId: 17,
      subscriptions: FILTERS.map(([topicFilter, qos]) =>
        version === 5
          ? { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }
          : { topicFilter, qos },
      ),
      ...(version === 5 && { properties: {} }),
    },
    reference: {
      cmd: 'subscribe',
      messageId: 17,
      subscriptions: FILTERS.map(([topic, qos]) =>
        version === 5 ? { topic, qos, nl: false, rap: false, rh: 0 } : { topic, qos },
      ),
    },
  };
}

function connectCase(version: 4 | 5): BenchCase {
  const willPayload = Buffer.from('{"state":"offline","reason":"connection lost"}');
  const password = Buffer.from('s3cr3t-t0ken-0123456789abcdef');
  const willTopic = 'plant/berlin/line-3/press-7/status';
  return {
    name: `CONNECT will+credentials ${version === 5 ? '5.0' : '3.1.1'}`,
    version,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: version,
      clean: true,
      keepAlive: 60,
      clientId: 'press-7-gateway-0042',
      username: 'press-7',
      password,
      will: { topic: willTopic, payload: willPayload, qos: 1, retain: true, ...(version === 5 && { properties: {} }) },
      ...(version === 5 && { properties: {} }),
    },
    reference: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clean: true,
      keepalive: 60,
      clientId: 'press-7-gateway-0042',
      username: 'press-7',
      password,
      will: { topic: willTopic, payload: willPayload, qos: 1, retain: true },
    },
  };
}

const CASES: BenchCase[] = [
  publishCase('16 B', 16, 4),
  publishCase('256 B', 256, 4),
  publishCase('4 KB', 4096, 4),
  publishCase('16 B', 16, 5),
  publishCase('256 B', 256, 5),
  publishCase('4 KB', 4096, 5),
  subscribeCase(4),
  subscribeCase(5),
  connectCase(4),
  connectCase(5),
];

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

function referenceDecoder(version: ProtocolVersion): (bytes: Buffer) => number {
  const parser = mqttPacket.parser({ protocolVersion: version });
  let emitted = 0;
  let last: ReferencePacket | undefined;
  parser.on('packet', (packet) => {
    emitted++;
    last = packet;
  });
  parser.on('error', (error) => {
    throw error;
  });
  return (bytes) => {
    const before = emitted;
    parser.parse(bytes);
    return emitted - before + (last === undefined ? 0 : last.cmd.length);
  };
}

/** Fails fast if the two codecs disagree on the case: a benchmark of broken output is worthless. */
function check(codec: StratusCodec, c: BenchCase, bytes: Buffer): void {
  const reference = mqttPacket.generate(c.reference, { protocolVersion: c.version });
  if (reference.length !== bytes.length) {
    throw new Error(`${c.name}: Stratus encodes ${bytes.length} bytes, mqtt-packet ${reference.length}`);
  }
  const decoded = codec.decoder(c.version)(reference);
  if (decoded.length !== 1 || decoded[0].type !== c.packet.type) {
    throw new Error(`${c.name}: Stratus cannot decode mqtt-packet's bytes`);
  }
  if (referenceDecoder(c.version)(bytes) < 1) throw new Error(`${c.name}: mqtt-packet cannot parse our bytes`);
}

function rowsFor(codec: StratusCodec, c: BenchCase): Row[] {
  const bytes = Buffer.from(codec.encode(c.packet, c.version));
  check(codec, c, bytes);
  const options = { protocolVersion: c.version };
  const parse = referenceDecoder(c.version);
  const decodeStratus = codec.decoder(c.version);
  const measured = {
    decode: compare(
      () => {
        const packets = decodeStratus(bytes);
        return packets.length + packets[0].type.length;
      },
      () => parse(bytes),
    ),
    encode: compare(
      () => codec.encode(c.packet, c.version).length,
      () => mqttPacket.generate(c.reference, options).length,
    ),
  };
  return (['decode', 'encode'] as const).map((op) => {
    const m = measured[op];
    return {
      name: c.name,
      op,
      stratusOpsPerSec: Math.round(m.subjectOpsPerSec),
      referenceOpsPerSec: Math.round(m.referenceOpsPerSec),
      ratio: Number(m.ratio.toFixed(2)),
      bytes: bytes.length,
      stratusMBps: Number(((m.subjectOpsPerSec * bytes.length) / 1e6).toFixed(1)),
      referenceMBps: Number(((m.referenceOpsPerSec * bytes.length) / 1e6).toFixed(1)),
    };
  });
}

function printTable(rows: readonly Row[]): void {
  const headers = ['Packet', 'Op', 'Bytes', 'Stratus ops/s', 'mqtt-packet ops/s', 'Ratio', 'Stratus MB/s', 'mqtt-packet MB/s'];
  const cells = rows.map((r) => [
    r.name,
    r.op,
    String(r.bytes),
    formatInteger(r.stratusOpsPerSec),
    formatInteger(r.referenceOpsPerSec),
    `${r.ratio.toFixed(2)}x`,
    r.stratusMBps.toFixed(1),
    r.referenceMBps.toFixed(1),
  ]);
  console.log(markdownTable(headers, cells));
}

const USAGE = `Usage: npm run bench:codec -- [--json] [--filter TEXT]
  --json           one JSON object per row (NDJSON), nothing else on stdout
  --filter TEXT    only the packets whose name contains TEXT, ignoring case`;

function main(): void {
  const { json, filter } = parseBenchArgs(USAGE, {
    json: { type: 'boolean', default: false },
    filter: { type: 'string', default: '' },
  });
  const cases = CASES.filter((c) => c.name.toLowerCase().includes(filter.toLowerCase()));
  const log = json ? console.error : console.log;
  log(`Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const started = performance.now();
  const rows: Row[] = [];
  for (const c of cases) {
    const caseRows = rowsFor(STRATUS, c);
    rows.push(...caseRows);
    if (json) for (const row of caseRows) console.log(JSON.stringify(row));
  }
  if (!json) printTable(rows);
  log(`${((performance.now() - started) / 1000).toFixed(1)} s, load ${loadavg()[0].toFixed(2)}, sink ${sinkValue()}`);
}

main();
