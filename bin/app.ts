/**
 * The CDK app (cdk.json: `npx tsx bin/app.ts`): one StratusStack configured from `stratus:` context
 * keys (cdk.json or `-c key=value`, documented in docs/DEPLOY.md), checked by cdk-nag's AwsSolutions
 * pack. The stack is environment-agnostic: `cdk synth` needs no AWS credentials, and `cdk deploy`
 * deploys to the account and Region of the current AWS profile.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InvalidContextError, readAppContext } from '../lib/infra/context';
import { InvalidBrokerPropsError } from '../lib/infra/props-validation';
import { StratusStack } from '../lib/infra/stratus-stack';

const app = new App();
try {
  const context = readAppContext((key) => app.node.tryGetContext(key));
  new StratusStack(app, context.stackName, { broker: context.broker });
} catch (error) {
  if (error instanceof InvalidContextError || error instanceof InvalidBrokerPropsError) {
    console.error(`stratus: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
// cdk-nag 3 is a policy-validation plugin: findings fail `cdk synth` unless acknowledged (lib/infra/nag.ts).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
