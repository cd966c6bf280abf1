/**
 * zod schemas for the access-control data stored with a connection record: the compiled rules
 * (written at CONNECT, read on every message) and the principal the `$connect` authorizer
 * established (written at `$connect`, read at CONNECT). Stored as JSON strings; a record whose
 * JSON does not have this shape is corrupt, never silently unrestricted.
 */
import * as z from '../zod-mini';
import type { ConnectionAcl, PreAuthenticated } from './types';

const effect = z.enum(['allow', 'deny']);

export const connectionAclSchema: z.ZodMiniType<ConnectionAcl> = z.strictObject({
  defaultEffect: effect,
  rules: z.array(
    z.strictObject({
      effect,
      publish: z.boolean(),
      subscribe: z.boolean(),
      filter: z.string().check(z.minLength(1)),
      share: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
});

export const preAuthenticatedSchema: z.ZodMiniType<PreAuthenticated> = z.strictObject({
  username: z.string().check(z.minLength(1)),
  groups: z.array(z.string().check(z.minLength(1))),
  rules: z.array(
    z.strictObject({
      id: z.string().check(z.minLength(1)),
      effect,
      actions: z.array(z.enum(['publish', 'subscribe'])).check(z.minLength(1)),
      pattern: z.string().check(z.minLength(1)),
    }),
  ),
});
