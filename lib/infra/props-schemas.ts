/**
 * zod schemas of the operational props (per-client publish rate, account concurrency, custom
 * domain, backups, budget), checked on the props as given, before the defaults: a refused value
 * throws InvalidBrokerPropsError naming the prop by its path, e.g. `budget.monthlyUsd`.
 */
import { Construct } from 'constructs';
import { Duration, Token } from 'aws-cdk-lib';
import { z } from 'zod';
import type { MqttBrokerProps } from './props';

/** The stage's throttle is at most 10,000 requests per second: a higher client rate means nothing. */
export const MAX_PUBLISH_RATE = 10_000;
export const MAX_PUBLISH_BURST = 100_000;
/** AWS Backup keeps recovery points up to 100 years; a day is the shortest retention worth a plan. */
const MAX_BACKUP_DAYS = 36_500;

/** A literal that must match, or a token resolved at deploy time (not checked here). */
const literalOrToken = (pattern: RegExp, what: string) =>
  z.string().refine((v) => Token.isUnresolved(v) || pattern.test(v), { message: `must be ${what}` });

const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;
/** A zone name may end with the root's dot. */
const ZONE_NAME = new RegExp(DOMAIN_NAME.source.replace(/\$$/, '\\.?$'), 'i');
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
/** API mapping keys for WebSocket APIs: letters, digits and $-_.+!*'(), at most 300 characters. */
const BASE_PATH = /^[A-Za-z0-9$\-_.+!*'()]{0,300}$/;
const BACKUP_VAULT_ARN = /^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_.-]{2,50}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const days = (min: number, max: number) =>
  z.custom<Duration>((v) => v instanceof Duration, 'must be a Duration').refine(
    (d) => {
      const n = d.toSeconds() / 86_400;
      return Number.isInteger(n) && n >= min && n <= max;
    },
    { message: `must be whole days, from ${min} to ${max}` },
  );

export const publishRateSchema = z.union([
  z.literal(false),
  z.strictObject({
    perSecond: z.number().gt(0, 'must be more than 0 (use false to turn the limit off)').max(MAX_PUBLISH_RATE),
    burst: z.number().int().min(1).max(MAX_PUBLISH_BURST).optional(),
  }),
]);

const hostedZoneSchema = z.union([
  z.custom<Construct>((v) => Construct.isConstruct(v), 'must be a hosted zone'),
  z.strictObject({
    hostedZoneId: literalOrToken(HOSTED_ZONE_ID, 'a Route 53 hosted zone id (Z…)'),
    zoneName: literalOrToken(ZONE_NAME, 'a domain name'),
  }),
]);

export const customDomainSchema = z
  .object({
    domainName: z.string().regex(DOMAIN_NAME, 'not a domain name'),
    certificate: z.custom<Construct>((v) => typeof v === 'object' && v !== null, 'must be a certificate').optional(),
    certificateArn: literalOrToken(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'an ACM certificate ARN').optional(),
    hostedZone: hostedZoneSchema.optional(),
    aliasRecord: z.boolean().optional(),
    basePath: z.string().regex(BASE_PATH, "letters, digits and $-_.+!*'() only, at most 300 (an empty path maps the root)").optional(),
  })
  .superRefine((d, ctx) => {
    const certificates = Number(d.certificate !== undefined) + Number(d.certificateArn !== undefined);
    if (certificates > 1) ctx.addIssue({ code: 'custom', message: 'give at most one of certificate or certificateArn' });
    if (certificates === 0 && d.hostedZone === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs a certificate: certificate, certificateArn, or hostedZone to create one' });
    }
    if (d.aliasRecord === true && d.hostedZone === undefined) {
      ctx.addIssue({ code: 'custom', path: ['aliasRecord'], message: 'needs hostedZone' });
    }
    const zoneName = zoneNameOf(d.hostedZone);
    if (zoneName !== undefined && !Token.isUnresolved(zoneName)) {
      const zone = zoneName.replace(/\.$/, '').toLowerCase();
      const domain = d.domainName.toLowerCase();
      if (domain !== zone && !domain.endsWith(`.${zone}`)) {
        ctx.addIssue({ code: 'custom', path: ['hostedZone'], message: `zone '${zone}' does not hold '${d.domainName}'` });
      }
    }
  });

function zoneNameOf(zone: unknown): string | undefined {
  if (typeof zone !== 'object' || zone === null) return undefined;
  const name = (zone as { zoneName?: unknown }).zoneName;
  return typeof name === 'string' ? name : undefined;
}

export const backupSchema = z.strictObject({
  retention: days(1, MAX_BACKUP_DAYS).optional(),
  copyToVaultArn: literalOrToken(BACKUP_VAULT_ARN, 'a backup vault ARN (arn:aws:backup:{region}:{account}:backup-vault:{name})').optional(),
  copyRetention: days(1, MAX_BACKUP_DAYS).optional(),
});

export const budgetSchema = z.strictObject({
  monthlyUsd: z.number().gt(0, 'must be more than 0').max(1_000_000_000),
  email: z.string().regex(EMAIL, 'not an e-mail address'),
});

/** Lambda's concurrency quota: new accounts may start as low as 10; the alarm needs a real number. */
export const accountConcurrencyLimitSchema = z.number().int().min(10).max(1_000_000);

export const OPERATIONAL_PROPS = {
  clientPublishRate: publishRateSchema,
  accountConcurrencyLimit: accountConcurrencyLimitSchema,
  customDomain: customDomainSchema,
  backup: backupSchema,
  budget: budgetSchema,
} as const satisfies Partial<Record<keyof MqttBrokerProps, z.ZodType>>;

/** The first refused operational prop, as its path and zod's message; undefined when all pass. */
export function refusedOperationalProp(props: MqttBrokerProps): { readonly prop: string; readonly message: string } | undefined {
  for (const [name, schema] of Object.entries(OPERATIONAL_PROPS)) {
    const value = props[name as keyof MqttBrokerProps];
    if (value === undefined) continue;
    const parsed = (schema as z.ZodType).safeParse(value);
    if (parsed.success) continue;
    const issue = parsed.error.issues[0];
    const { path, message } = innermost(issue);
    return { prop: [name, ...path].join('.'), message };
  }
  return undefined;
}

type Issue = z.core.$ZodIssue;

/**
 * A union's issue names the union; the branch that got furthest (the longest path) names the field,
 * e.g. `clientPublishRate.burst` rather than `clientPublishRate`.
 */
function innermost(issue: Issue | undefined): { path: string[]; message: string } {
  if (issue === undefined) return { path: [], message: 'invalid' };
  const own = issue.path.filter((p) => typeof p !== 'number').map(String);
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return { path: own, message: issue.message };
  const deepest = issue.errors
    .map((branch) => innermost(branch[0]))
    .reduce((a, b) => (b.path.length > a.path.length ? b : a));
  return deepest.path.length === 0 ? { path: own, message: issue.message } : { path: [...own, ...deepest.path], message: deepest.message };
}
