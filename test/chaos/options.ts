/**
 * The chaos run's options, validated once with zod: the load, and a switch per fault class so a
 * run can show which class breaks what. Rates are per call (store), per post, per close.
 */
import { z } from 'zod';
import { FAULT_KINDS, type FaultKind } from '../helpers/faulty-dynamodb';
import { POST_FAULT_KINDS, type PostFaultKind } from '../helpers/faulty-delivery';

export const chaosOptionsSchema = z
  .object({
    /** Seeds every draw: faults, roles, payloads, reconnects (the interleaving is not seeded). */
    seed: z.number().int().min(0).max(0xffff_ffff).default(1),
    /** How long clients publish while faults are injected. */
    durationS: z.number().positive().max(24 * 3600).default(20),
    /** Chaos clients, roles in turn: v4 persistent, v5 persistent, v4 clean, v5 clean. */
    clients: z.number().int().min(2).max(64).default(6),
    /** Mean time between two publishes of one client. */
    publishEveryMs: z.number().int().min(10).default(800),
    /** Fraction of publishes with a payload over one post (fragments, partial posts). */
    largeFraction: z.number().min(0).max(1).default(0.05),
    /** Store faults injected, and their total rate per DynamoDB call. */
    store: z.array(z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]])).default([...FAULT_KINDS]),
    storeRate: z.number().min(0).max(1).default(0.01),
    /** Post faults injected, and their total rate per post. */
    posts: z.array(z.enum(POST_FAULT_KINDS as [PostFaultKind, ...PostFaultKind[]])).default([...POST_FAULT_KINDS]),
    postRate: z.number().min(0).max(1).default(0.01),
    /** Probability that a `$disconnect` is dropped. */
    dropDisconnectRate: z.number().min(0).max(1).default(0.2),
    /** Random delay before each ingress batch and handler call. */
    jitterMs: z.number().min(0).default(20),
    /**
     * The sweeper's schedule (60 s deployed), compressed; 0: it runs only once, after the run. It
     * publishes the wills of the connections whose `$disconnect` was dropped.
     */
    sweepEveryMs: z.number().int().min(0).default(3000),
    /** Mean time between two forced reconnects of one client (a third of them graceful); 0: none. */
    reconnectEveryMs: z.number().int().min(0).default(6000),
    /** A clean session is owed a copy acknowledged at least this long before its connection closed. */
    graceMs: z.number().int().min(0).default(5000),
    /** How long to wait, after the faults stop, for owed copies and wills to arrive. */
    settleS: z.number().positive().default(60),
  })
  .strict();

export type ChaosOptions = z.output<typeof chaosOptionsSchema>;
export type ChaosOptionsInput = z.input<typeof chaosOptionsSchema>;

/** The options, or an Error whose message is one line naming each bad option. */
export function parseChaosOptions(input: unknown): ChaosOptions {
  const parsed = chaosOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
  throw new Error(`invalid chaos options: ${issues.join('; ')}`);
}
