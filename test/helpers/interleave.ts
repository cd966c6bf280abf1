/**
 * Deterministic interleavings of concurrent handlers on the memory runtime. Every asynchronous
 * method of the stores and of the delivery port is wrapped, so that each call is a numbered step
 * of the actor that made it (an actor is a named async context: `run('resume', ...)`). A test
 * picks a step of one actor and a hook; when that actor reaches the step, the hook runs to its
 * end (outside the actor's context: it is another invocation), then the actor goes on. Running
 * a scenario once per step walks every point at which another invocation can slip in.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MemoryRuntime } from './memory-runtime';

type Hook = () => Promise<void>;

export class Interleaver {
  private readonly actors = new AsyncLocalStorage<string>();
  private readonly steps = new Map<string, number>();
  private plan: { readonly actor: string; readonly step: number; readonly hook: Hook } | undefined;
  /** Every step taken, as `actor#step store.method`. */
  readonly trace: string[] = [];
  /** The planned hook ran. */
  fired = false;

  /** Wraps the asynchronous methods of the runtime's stores and delivery port. */
  static over(rt: MemoryRuntime): Interleaver {
    const interleaver = new Interleaver();
    for (const [name, store] of Object.entries(rt.stores)) interleaver.wrap(name, store as object);
    interleaver.wrap('delivery', rt.delivery, ['send', 'close']);
    return interleaver;
  }

  /** Runs `hook` when `actor` is about to take step `step` (1-based), once. */
  at(actor: string, step: number, hook: Hook): void {
    this.plan = { actor, step, hook };
    this.fired = false;
  }

  /** Runs `fn` as `actor`: its store and delivery calls count as its steps. */
  run<T>(actor: string, fn: () => Promise<T>): Promise<T> {
    this.steps.set(actor, 0);
    return this.actors.run(actor, fn);
  }

  /** How many steps `actor` took in its last run. */
  taken(actor: string): number {
    return this.steps.get(actor) ?? 0;
  }

  private wrap(name: string, target: object, only?: readonly string[]): void {
    const methods = only ?? asyncMethods(target);
    const record = target as Record<string, unknown>;
    for (const method of methods) {
      const original = record[method] as (...args: unknown[]) => Promise<unknown>;
      record[method] = async (...args: unknown[]) => {
        await this.step(`${name}.${method}`);
        return original.apply(target, args);
      };
    }
  }

  private async step(label: string): Promise<void> {
    const actor = this.actors.getStore();
    if (actor === undefined) return;
    const step = (this.steps.get(actor) ?? 0) + 1;
    this.steps.set(actor, step);
    this.trace.push(`${actor}#${step} ${label}`);
    const plan = this.plan;
    if (plan === undefined || plan.actor !== actor || plan.step !== step) return;
    this.plan = undefined;
    this.fired = true;
    // Another invocation: none of its calls are steps of this actor.
    await this.actors.exit(plan.hook);
  }
}

/** The names of the object's async methods, along its prototype chain. */
function asyncMethods(target: object): string[] {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(target); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = (proto as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof value === 'function' && value.constructor.name === 'AsyncFunction') names.add(name);
    }
  }
  return [...names];
}
