/**
 * `npm run bench:routing`: what one publish's subscription lookup reads (issue 15, "Routing"), on
 * DynamoDB Local, under four route key schemes holding the same subscriptions:
 *   - "first level (0.1)": a filter stored under its first level ('+' / '#' apart); a publish
 *     queries its first level, '+' and '#';
 *   - "two levels": lib/mqtt/topic.ts `routeKey` at depth 2 everywhere (3 Queries);
 *   - "current": two levels, the Sparkplug B namespace four (`routeDepthOf`), checked against
 *     the real DynamoSubscriptionStore.routesFor (3 Queries; 5 under `spBv1.0/`);
 *   - "three levels": depth 3 everywhere (4 Queries).
 * The subscriptions: a fleet of N devices each subscribed to `plant/<i>/cmd` and
 * `plant/<i>/+/status`, a historian on `#`, a dashboard on `plant/#`, and a Sparkplug group of
 * N/10 edge nodes each on `spBv1.0/G1/NCMD/<node>` and `spBv1.0/G1/DCMD/<node>/#`.
 *
 * Per publish and scheme: the Queries, the read units DynamoDB reported (ReturnConsumedCapacity),
 * the round trips (the Queries run in parallel; a key past 1 MB adds a page) and the candidates
 * read. `--json` prints one JSON object per row with `name`, `subscriptions`, `requests`, `rru`
 * and `roundTrips`.
 */
import { candidateRouteKeys, routeKey } from '../lib/mqtt/topic';
import { provideDynamoDb } from '../lib/local/dynamodb-local';
import { createDynamoDbClient } from '../lib/store/dynamodb/client';
import { ExpressionBuilder } from '../lib/store/dynamodb/expressions';
import { MeteredDynamoDb } from '../lib/store/dynamodb/metered';
import { storedRouteKey } from '../lib/store/dynamodb/route-key';
import { ROUTE_KEY, toSubscriptionItem } from '../lib/store/dynamodb/subscription-codec';
import { DynamoSubscriptionStore } from '../lib/store/dynamodb/subscription-store';
import { ensureTables } from '../lib/store/dynamodb/tables';
import { CountingMeter } from '../lib/store/meter';
import type { SubscriptionRecord } from '../lib/store/subscription-port';
import { integerOption, parseBenchArgs } from './lib/options';

const USAGE = `Usage: npm run bench:routing -- [--json] [--subscriptions N]
  --json             one JSON object per row, instead of a Markdown table
  --subscriptions N  devices of the fleet (default 10000): 2 subscriptions each, plus N/10 Sparkplug nodes with 2 each`;
const options = parseBenchArgs(USAGE, {
  json: { type: 'boolean', default: false },
  subscriptions: { type: 'string', default: '10000' },
});
const DEVICES = integerOption(USAGE, 'subscriptions', options.subscriptions, 10);
const NODES = Math.floor(DEVICES / 10);

interface Scheme {
  readonly name: string;
  keyOf(filter: string): string;
  candidates(topic: string): string[];
}

const firstLevel = (filter: string): string => {
  const first = filter.split('/')[0] as string;
  return first === '' ? '/' : first;
};

const SCHEMES: Scheme[] = [
  {
    name: 'first level (0.1)',
    keyOf: firstLevel,
    candidates: (topic) => (topic.startsWith('$') ? [firstLevel(topic)] : [firstLevel(topic), '+', '#']),
  },
  { name: 'two levels', keyOf: (f) => storedRouteKey(routeKey(f, 2)), candidates: (t) => candidateRouteKeys(t, 2).map(storedRouteKey) },
  { name: 'current: two levels, spBv1.0 four', keyOf: (f) => storedRouteKey(routeKey(f)), candidates: (t) => candidateRouteKeys(t).map(storedRouteKey) },
  { name: 'three levels', keyOf: (f) => storedRouteKey(routeKey(f, 3)), candidates: (t) => candidateRouteKeys(t, 3).map(storedRouteKey) },
];

const PUBLISHES = ['plant/42/cmd', 'plant/42/line/status', 'spBv1.0/G1/NDATA/node-42'];

function subscriptions(): SubscriptionRecord[] {
  const expiresAt = Math.floor(Date.now() / 1000) + 24 * 3600;
  const record = (clientId: string, filter: string): SubscriptionRecord => ({
    clientId,
    filter,
    topicFilter: filter,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    sessionEpoch: 'epoch-1',
    persistent: true,
    expiresAt,
    connection: { connectionId: `conn-${clientId}=`, protocolVersion: 4, mode: 'text' },
  });
  const out: SubscriptionRecord[] = [record('historian', '#'), record('dashboard', 'plant/#'), record('scada', 'spBv1.0/#')];
  for (let i = 0; i < DEVICES; i++) out.push(record(`device-${i}`, `plant/${i}/cmd`), record(`device-${i}`, `plant/${i}/+/status`));
  for (let i = 0; i < NODES; i++) out.push(record(`node-${i}`, `spBv1.0/G1/NCMD/node-${i}`), record(`node-${i}`, `spBv1.0/G1/DCMD/node-${i}/#`));
  return out;
}

interface Row {
  name: string;
  scheme: string;
  topic: string;
  subscriptions: number;
  requests: number;
  rru: number;
  roundTrips: number;
  candidates: number;
}

async function main(): Promise<void> {
  const dynamo = await provideDynamoDb({});
  const client = createDynamoDbClient({ endpoint: dynamo.endpoint });
  try {
    const records = subscriptions();
    const rows: Row[] = [];
    for (const [n, scheme] of SCHEMES.entries()) {
      const table = `bench-routing-${Date.now()}-${n}`;
      await ensureTables(client, { subscriptions: table });
      const writer = new MeteredDynamoDb(client, {});
      const items = records.map((r) => ({ PutRequest: { Item: { ...toSubscriptionItem(r), [ROUTE_KEY]: { S: scheme.keyOf(r.topicFilter) } } } }));
      for (let i = 0; i < items.length; i += 25 * 8) {
        const chunks = [];
        for (let j = i; j < Math.min(i + 25 * 8, items.length); j += 25) chunks.push(items.slice(j, j + 25));
        await Promise.all(chunks.map((chunk) => writer.batchWriteAll(table, chunk, 10)));
      }
      if (!options.json) process.stderr.write(`  ${scheme.name}: ${records.length} subscriptions written\n`);
      for (const topic of PUBLISHES) rows.push(await measure(client, table, scheme, topic, records.length));
    }
    print(rows);
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}

async function measure(client: ReturnType<typeof createDynamoDbClient>, table: string, scheme: Scheme, topic: string, count: number): Promise<Row> {
  const meter = new CountingMeter();
  const db = new MeteredDynamoDb(client, { meter });
  const pages = await Promise.all(scheme.candidates(topic).map((key) => queryPages(db, table, key)));
  const taken = meter.take();
  const row: Row = {
    name: `${scheme.name}: ${topic}`,
    scheme: scheme.name,
    topic,
    subscriptions: count,
    requests: taken.entries.length,
    rru: taken.entries.reduce((n, e) => n + e.readUnits, 0),
    // The keys are queried in parallel: the trips are the most pages of one key.
    roundTrips: Math.max(...pages.map((p) => p.pages)),
    candidates: pages.reduce((n, p) => n + p.items, 0),
  };
  if (scheme.name.includes('current')) {
    // The store's own lookup reads exactly this.
    const storeMeter = new CountingMeter();
    const routes = await new DynamoSubscriptionStore(new MeteredDynamoDb(client, { meter: storeMeter }), table).routesFor(topic);
    const store = storeMeter.take();
    if (store.entries.length !== row.requests || routes.length !== row.candidates) {
      throw new Error(`routesFor(${topic}) read ${store.entries.length} requests and ${routes.length} records, the bench ${row.requests} and ${row.candidates}`);
    }
  }
  return row;
}

async function queryPages(db: MeteredDynamoDb, table: string, key: string): Promise<{ pages: number; items: number }> {
  let pages = 0;
  let items = 0;
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const x = new ExpressionBuilder();
    const out = await db.query({
      TableName: table,
      KeyConditionExpression: `${x.name(ROUTE_KEY)} = ${x.value({ S: key })}`,
      ...x.attributes(),
      ...(start === undefined ? {} : { ExclusiveStartKey: start }),
    });
    pages++;
    items += out.Items?.length ?? 0;
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return { pages, items };
}

function print(rows: Row[]): void {
  if (options.json) {
    for (const row of rows) process.stdout.write(JSON.stringify(row) + '\n');
    return;
  }
  const lines = [
    `Node ${process.version}, DynamoDB Local; ${rows[0]?.subscriptions ?? 0} subscriptions per scheme`,
    '| Scheme | Publish | Queries | RRU | Round trips | Candidates read |',
    '|---|---|--:|--:|--:|--:|',
    ...rows.map((r) => `| ${r.scheme} | \`${r.topic}\` | ${r.requests} | ${r.rru} | ${r.roundTrips} | ${r.candidates} |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:routing failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
