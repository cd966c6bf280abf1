/**
 * Reads a deployed stack's outputs with CloudFormation DescribeStacks, using the default AWS
 * credential chain and, without `--region`, the default region (AWS_REGION, the profile).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AdminFailureError } from './errors';
import type { StackOutputs } from './target';

export async function describeStackOutputs(stack: string, region: string | undefined): Promise<StackOutputs> {
  const client = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const resolvedRegion = await client.config.region().catch((error: unknown) => {
      throw new AdminFailureError('no AWS region: pass --region, or set AWS_REGION', { cause: error });
    });
    let out;
    try {
      out = await client.send(new DescribeStacksCommand({ StackName: stack }));
    } catch (error) {
      // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist"
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
        throw new AdminFailureError(`stack ${stack} does not exist in ${resolvedRegion}`, { cause: error });
      }
      throw error;
    }
    const found = out.Stacks?.[0];
    if (found === undefined) throw new AdminFailureError(`stack ${stack} does not exist in ${resolvedRegion}`);
    const outputs: Record<string, string> = {};
    for (const output of found.Outputs ?? []) {
      if (output.OutputKey !== undefined && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
    }
    return { region: resolvedRegion, outputs };
  } finally {
    client.destroy();
  }
}
