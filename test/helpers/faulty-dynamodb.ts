/**
 * Fault injection for the DynamoDB adapters, on a real client (DynamoDB Local): a DynamoDBClient
 * whose `send` applies the faults AWS produces, chosen by rules.
 *
 *   const faulty = new FaultyDynamoDb(db.client);
 *   const store = new DynamoSessionStore(new MeteredDynamoDb(faulty.client), db.names.sessions);
 *   faulty.inject({ kind: 'sdk-retry', command: 'UpdateItem', table: db.names.sessions });
 *
 * Kinds:
 * - 'sdk-retry': the request is applied, its response is lost, and the SDK sends the same input
 *   again; the caller gets the second attempt's answer (what a TimeoutError and a retry do);
 * - 'lost-response': the request is applied, then a TimeoutError is thrown (the handler dies or
 *   the SDK gives up after the write);
 * - 'before': a TimeoutError is thrown and nothing is sent (the write is not applied).
 *
 * A rule matches a command name (e.g. 'UpdateItem'), a table, and/or a predicate on the input; it
 * fires on its `nth` match (1-based, default 1) and then `times` times in a row (default 1).
 *
 * Random mode (chaos runs): `randomly({ seed, rates: { 'sdk-retry': 0.02, before: 0.01 } })` draws,
 * for each call no rule fired on, one kind or none from a xorshift32 generator; the draws are
 * seeded, the interleaving of concurrent calls is not. `counts()` tells what was injected.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Prng } from '../fuzz/prng';

export type FaultKind = 'sdk-retry' | 'lost-response' | 'before';

export interface FaultRule {
  readonly kind: FaultKind;
  /** The command's name without "Command": 'PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'Query'... */
  readonly command?: string;
  readonly table?: string;
  readonly where?: (input: Record<string, unknown>) => boolean;
  /** Fire on the nth matching call (1-based). @default 1 */
  readonly nth?: number;
  /** How many matching calls it fires on, from the nth. @default 1 */
  readonly times?: number;
}

export interface InjectedFault {
  readonly kind: FaultKind;
  readonly command: string;
  readonly table: string | undefined;
}

export const FAULT_KINDS: readonly FaultKind[] = ['sdk-retry', 'lost-response', 'before'];

export interface RandomFaults {
  readonly seed: number;
  /** Probability per call of each kind (their sum at most 1). */
  readonly rates: Partial<Record<FaultKind, number>>;
  /** Only these commands ('PutItem', 'Query'...). @default every command */
  readonly commands?: readonly string[];
}

interface ArmedRule {
  readonly rule: FaultRule;
  seen: number;
  fired: number;
}

/** A TimeoutError as the SDK raises it when a response does not come. */
export function timeoutError(what: string): Error {
  return Object.assign(new Error(`injected fault: ${what}`), { name: 'TimeoutError', $metadata: {} });
}

export class FaultyDynamoDb {
  readonly client: DynamoDBClient;
  /** Every fault fired so far, in order. */
  readonly injected: InjectedFault[] = [];
  /** Calls seen so far. */
  calls = 0;
  private rules: ArmedRule[] = [];
  private random: { readonly options: RandomFaults; readonly prng: Prng } | undefined;

  constructor(private readonly real: DynamoDBClient) {
    const send = (command: unknown) => this.send(command as { constructor: { name: string }; input: Record<string, unknown> });
    this.client = new Proxy(real, {
      get: (target, key, receiver) => (key === 'send' ? send : Reflect.get(target, key, receiver)),
    });
  }

  /** Arms a rule; rules are checked in the order they were armed, the first match fires. */
  inject(rule: FaultRule): this {
    this.rules.push({ rule, seen: 0, fired: 0 });
    return this;
  }

  /** Injects faults at random from now on, or stops (`undefined`). */
  randomly(options: RandomFaults | undefined): this {
    this.random = options === undefined ? undefined : { options, prng: new Prng(options.seed) };
    return this;
  }

  /** Disarms every rule and the random mode (what has been injected stays recorded). */
  clear(): void {
    this.rules = [];
    this.random = undefined;
  }

  /** Faults injected so far, by kind. */
  counts(): Record<FaultKind, number> {
    const counts = { 'sdk-retry': 0, 'lost-response': 0, before: 0 };
    for (const fault of this.injected) counts[fault.kind] += 1;
    return counts;
  }

  /** Faults injected so far, by `kind command`, e.g. `sdk-retry UpdateItem`. */
  countsByCommand(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { kind, command } of this.injected) counts[`${kind} ${command}`] = (counts[`${kind} ${command}`] ?? 0) + 1;
    return counts;
  }

  private async send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    this.calls += 1;
    const name = command.constructor.name.replace(/Command$/, '');
    const table = tableOf(command.input);
    const kind = this.fire(name, table, command.input);
    const real = () => this.real.send(command as never);
    if (kind === undefined) return real();
    this.injected.push({ kind, command: name, table });
    if (kind === 'before') throw timeoutError(`${name} not sent`);
    await real().catch(() => undefined);
    if (kind === 'lost-response') throw timeoutError(`${name} applied, response lost`);
    return real();
  }

  private fire(command: string, table: string | undefined, input: Record<string, unknown>): FaultKind | undefined {
    for (const armed of this.rules) {
      const { rule } = armed;
      if (rule.command !== undefined && rule.command !== command) continue;
      if (rule.table !== undefined && rule.table !== table) continue;
      if (rule.where !== undefined && !rule.where(input)) continue;
      armed.seen += 1;
      const from = rule.nth ?? 1;
      if (armed.seen < from || armed.fired >= (rule.times ?? 1)) continue;
      armed.fired += 1;
      return rule.kind;
    }
    return this.draw(command);
  }

  private draw(command: string): FaultKind | undefined {
    if (this.random === undefined) return undefined;
    const { options, prng } = this.random;
    if (options.commands !== undefined && !options.commands.includes(command)) return undefined;
    let x = prng.next() / 0x1_0000_0000;
    for (const kind of FAULT_KINDS) {
      const rate = options.rates[kind] ?? 0;
      if (x < rate) return kind;
      x -= rate;
    }
    return undefined;
  }
}

/** The table a request names: TableName, or the first table of a transaction or batch. */
function tableOf(input: Record<string, unknown>): string | undefined {
  if (typeof input.TableName === 'string') return input.TableName;
  const items = input.TransactItems as Array<Record<string, { TableName?: string }>> | undefined;
  if (items !== undefined) {
    for (const item of items) for (const op of Object.values(item)) if (op?.TableName) return op.TableName;
  }
  const batch = input.RequestItems as Record<string, unknown> | undefined;
  return batch === undefined ? undefined : Object.keys(batch)[0];
}
