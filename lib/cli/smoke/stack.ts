/**
 * `--stack NAME`: what the smoke test reads from a deployed stack, with the default AWS
 * credential chain. The URL is the stack's `WebSocketUrl` output (lib/infra/stratus-stack.ts).
 * Whether anonymous clients are allowed is not an output: it is read from the deployed template
 * (CloudFormation GetTemplate), where the functions' environment sets `STRATUS_ALLOW_ANONYMOUS`
 * (lib/infra/mqtt-broker.ts). A template that cannot be read leaves it unknown.
 */
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { describeStackOutputs } from '../admin/stack-outputs';
import { AdminFailureError } from '../admin/errors';

export const URL_OUTPUT = 'WebSocketUrl';
export const ALLOW_ANONYMOUS_ENV = 'STRATUS_ALLOW_ANONYMOUS';

export interface StackFacts {
  readonly url: string;
  readonly region: string;
  /** From the deployed template; undefined when it could not be read or says nothing. */
  readonly allowAnonymous: boolean | undefined;
  /** Why `allowAnonymous` is unknown, when it is. */
  readonly anonymousUnknownBecause?: string;
}

export type ReadStack = (stack: string, region: string | undefined) => Promise<StackFacts>;

export const readStack: ReadStack = async (stack, region) => {
  const { region: resolved, outputs } = await describeStackOutputs(stack, region);
  const url = outputs[URL_OUTPUT];
  if (url === undefined) throw new AdminFailureError(`stack ${stack} has no ${URL_OUTPUT} output: is it a Stratus stack? pass --url`);
  const client = new CloudFormationClient({ region: resolved });
  try {
    const out = await client.send(new GetTemplateCommand({ StackName: stack }));
    const allowAnonymous = allowAnonymousOf(out.TemplateBody ?? '');
    return { url, region: resolved, allowAnonymous, ...(allowAnonymous === undefined ? { anonymousUnknownBecause: `the template sets no ${ALLOW_ANONYMOUS_ENV}` } : {}) };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'error';
    return { url, region: resolved, allowAnonymous: undefined, anonymousUnknownBecause: `the template could not be read (${name})` };
  } finally {
    client.destroy();
  }
};

/**
 * `STRATUS_ALLOW_ANONYMOUS` of the Lambda functions in a CloudFormation template (JSON, as CDK
 * deploys it): true or false when every function that sets it agrees, else undefined.
 */
export function allowAnonymousOf(templateBody: string): boolean | undefined {
  let template: unknown;
  try {
    template = JSON.parse(templateBody);
  } catch {
    return undefined;
  }
  const resources = (template as { Resources?: Record<string, unknown> } | null)?.Resources ?? {};
  const values = new Set<string>();
  for (const resource of Object.values(resources)) {
    const r = resource as { Type?: unknown; Properties?: { Environment?: { Variables?: Record<string, unknown> } } };
    if (r?.Type !== 'AWS::Lambda::Function') continue;
    const value = r.Properties?.Environment?.Variables?.[ALLOW_ANONYMOUS_ENV];
    if (typeof value === 'string') values.add(value);
  }
  if (values.size !== 1) return undefined;
  const [value] = values;
  return value === 'true' ? true : value === 'false' ? false : undefined;
}
