/**
 * `stratus retained list|clear`: retained messages (table `retained`). A clear is the delete a
 * PUBLISH with an empty retained payload makes [MQTT-3.3.1-6], stamped with the current time as
 * its arrival time (or just after the cleared message's, if this machine's clock is behind): a
 * message retained later wins over it, an older one that arrives late does not.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { topicFilterViolation, topicNameViolation } from '../../mqtt/topic';
import type { RetainedRecord } from '../../store/retained-port';
import { action, commandGroup, finishGroup, withTargetOptions, type AdminDeps, type Open } from './context';
import { AdminFailureError, AdminInputError } from './errors';
import { parseArgument, parseOptions } from './input';
import { formatTable, isoTime, shortDuration, type Report } from './output';

const FilterSchema = z.string().superRefine((filter, ctx) => {
  const violation = topicFilterViolation(filter);
  if (violation !== undefined) ctx.addIssue({ code: 'custom', message: `not a valid topic filter [${violation}]` });
});

export function registerRetainedCommands(program: Command, deps: AdminDeps): void {
  const retained = commandGroup(program, deps, 'retained', 'inspect and clear retained messages');

  withTargetOptions(
    retained
      .command('list')
      .description('list retained messages: topic, QoS, size, age')
      .argument('[filter]', "only topics matching this filter, e.g. 'plant/#' (default: every topic, $ topics too)"),
  ).action(action(deps, (input, context) => listRetained(input.args[0], input.options, deps, context.open)));

  withTargetOptions(
    retained
      .command('clear')
      .description('delete the retained message of a topic; a filter or --all needs --yes')
      .argument('[topic]', "a topic, or a filter such as 'plant/#' (with --yes)"),
  )
    .option('--all', 'every retained message (with --yes)')
    .option('--yes', 'confirm clearing more than one topic')
    .action(action(deps, (input, context) => clearRetained(input.args[0], input.options, deps, context.open)));

  finishGroup(retained, deps);
}

async function listRetained(rawFilter: unknown, raw: Record<string, unknown>, deps: AdminDeps, open: Open): Promise<Report> {
  const filter = rawFilter === undefined ? undefined : parseArgument(FilterSchema, rawFilter, 'FILTER');
  const options = parseOptions({}, raw);
  const stores = await open(options);
  const now = deps.now();
  const records = filter === undefined ? await stores.retained.list() : await stores.retained.matching(filter, now);
  const views = records.map((r) => retainedView(r, now));
  return {
    json: views,
    text: formatTable(
      ['TOPIC', 'QOS', 'BYTES', 'AGE'],
      views.map((v) => [v.topic, String(v.qos), String(v.bytes), shortDuration(v.ageSeconds)]),
      filter === undefined ? 'no retained messages' : `no retained messages match ${filter}`,
    ),
  };
}

async function clearRetained(rawTopic: unknown, raw: Record<string, unknown>, deps: AdminDeps, open: Open): Promise<Report> {
  const flag = z.boolean().default(false);
  const options = parseOptions({ all: flag, yes: flag }, raw);
  if (options.all && rawTopic !== undefined) throw new AdminInputError('pass a TOPIC or --all, not both');
  if (!options.all && rawTopic === undefined) throw new AdminInputError('missing TOPIC: pass a topic, or --all --yes');
  const topic = rawTopic === undefined ? undefined : parseArgument(FilterSchema, rawTopic, 'TOPIC');
  const single = topic !== undefined && topicNameViolation(topic) === undefined;
  if (!single && !options.yes) {
    throw new AdminInputError(
      topic === undefined
        ? '--all clears every retained message: add --yes to confirm'
        : `${topic} is a filter: it may clear many topics; add --yes to confirm`,
    );
  }
  const stores = await open(options);
  const now = deps.now();
  let targets: RetainedRecord[];
  if (single) {
    const found = await stores.retained.get(topic, now);
    if (found === undefined) throw new AdminFailureError(`no retained message on topic ${topic}`);
    targets = [found];
  } else {
    targets = topic === undefined ? await stores.retained.list() : await stores.retained.matching(topic, now);
  }
  const cleared: string[] = [];
  const kept: string[] = [];
  for (const record of targets) {
    // Never older than the message seen, so a clock behind the gateway's still clears it.
    const at = Math.max(now, record.requestTimeEpoch + 1);
    ((await stores.retained.delete(record.topic, at)) === 'written' ? cleared : kept).push(record.topic);
  }
  if (single && kept.length > 0) throw new AdminFailureError(`${topic} was retained again meanwhile: not cleared`);
  const notes = kept.length === 0 ? '' : `\n${kept.length} kept: retained again meanwhile (${kept.join(', ')})`;
  return {
    json: { cleared, kept },
    text: `cleared ${cleared.length} retained message${cleared.length === 1 ? '' : 's'}${notes}`,
  };
}

function retainedView(record: RetainedRecord, now: number) {
  return {
    topic: record.topic,
    qos: record.qos,
    bytes: record.payload.byteLength,
    receivedAt: isoTime(record.receivedAt),
    ageSeconds: Math.max(0, Math.floor((now - record.receivedAt) / 1000)),
    messageExpiresAt: record.messageExpiresAt === null ? null : isoTime(record.messageExpiresAt),
  };
}
