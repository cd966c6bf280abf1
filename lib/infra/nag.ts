/**
 * cdk-nag (AwsSolutions) findings the broker accepts, each scoped to the resources concerned and
 * carrying the reason it is accepted. Everything else must pass.
 *
 * cdk-nag 3 runs as a CDK policy-validation plugin, and findings are acknowledged with CDK's own
 * `Validations.of(construct).acknowledge({ id, reason })` (v2's NagSuppressions is gone), so this
 * module needs no cdk-nag import: apps that use the construct without cdk-nag are unaffected.
 */
import { Stack, Token, Validations, type CfnResource } from 'aws-cdk-lib';
import type { WebSocketApi, WebSocketRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import type { BackupSelection } from 'aws-cdk-lib/aws-backup';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { FUNCTION_IDS, FUNCTION_SPECS, type ConnectionMethod, type FunctionId } from './access';

interface NagTargets {
  readonly api: WebSocketApi;
  readonly stageName: string;
  readonly routes: readonly WebSocketRoute[];
  /** The roles of the deployed functions */
  readonly roles: Readonly<Partial<Record<FunctionId, Role>>>;
  readonly functions: readonly IFunction[];
  readonly cloudWatchRole?: Role;
  readonly alarmTopic?: Topic;
  /** The backup plan's selection, whose role carries AWS Backup's managed policy */
  readonly backupSelection?: BackupSelection;
}

/** How cdk-nag renders a value in a finding id: a token as `<AWS::Region>`, a literal as is. */
function rendered(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

/** The IAM5 finding for one `@connections` method ARN of this API and stage (ids must match exactly). */
function connectionsFindingId(api: WebSocketApi, stageName: string, method: ConnectionMethod): string {
  const stack = Stack.of(api);
  const apiLogicalId = stack.resolve((api.node.defaultChild as CfnResource).logicalId) as string;
  const arn = [
    'arn',
    rendered(stack.partition, 'AWS::Partition'),
    'execute-api',
    rendered(stack.region, 'AWS::Region'),
    rendered(stack.account, 'AWS::AccountId'),
    `<${apiLogicalId}>/${stageName}/${method}/@connections/*`,
  ].join(':');
  return `AwsSolutions-IAM5[Resource::${arn}]`;
}

const API_GATEWAY_LOGS_POLICY =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]';

const BACKUP_POLICY =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]';

const SUPPRESSION_REASONS = {
  routeAuthorization:
    'API Gateway allows authorizers on $connect only; $disconnect and $default run on an already accepted connection. ' +
    'With token authentication (jwt) $connect has a Lambda REQUEST authorizer that verifies a JWT from the query string ' +
    'or the Authorization header. A client without a token authenticates in its MQTT CONNECT packet (username and ' +
    'password, or a JWT as the password), checked by the $default function, and anonymous clients are refused unless ' +
    'allowAnonymous is set.',
  connectionsWildcard:
    'execute-api:ManageConnections is scoped to this API, this stage and each HTTP method used; the trailing * ' +
    'is the connection id, which is only known at run time.',
  runtimeVersion:
    'Node.js 22 is pinned on purpose: the bundles target node22 and the pinned AWS SDK versions are tested on it; ' +
    'runtime upgrades are deliberate changes.',
  accountLoggingRole:
    'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-managed policy designed for the account-wide role API Gateway uses ' +
    'for all REST and WebSocket API logs in this Region; it cannot be scoped to one API.',
  topicEncryption:
    'Alarm notifications carry alarm names and states only, no data. CloudWatch alarms cannot publish to a topic encrypted ' +
    'with the AWS-managed aws/sns key, and a customer-managed key would add a fixed monthly cost to an idle broker.',
  backupServiceRole:
    'AWSBackupServiceRolePolicyForBackup is the AWS-managed policy AWS Backup documents for the role that runs backup jobs; ' +
    'it follows the services AWS Backup supports. The role can be assumed only by backup.amazonaws.com, and the plan\'s ' +
    'selection limits the jobs to the auth, retained and sessions tables. Restores are not granted (allowRestores false).',
} as const;

function suppress(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}

export function suppressBrokerFindings(targets: NagTargets): void {
  for (const route of targets.routes) suppress(route, 'AwsSolutions-APIG4', SUPPRESSION_REASONS.routeAuthorization);
  for (const fn of FUNCTION_IDS) {
    const role = targets.roles[fn];
    if (!role) continue;
    for (const method of FUNCTION_SPECS[fn].connections) {
      suppress(role, connectionsFindingId(targets.api, targets.stageName, method), SUPPRESSION_REASONS.connectionsWildcard);
    }
  }
  for (const fn of targets.functions) suppress(fn, 'AwsSolutions-L1', SUPPRESSION_REASONS.runtimeVersion);
  if (targets.cloudWatchRole) suppress(targets.cloudWatchRole, API_GATEWAY_LOGS_POLICY, SUPPRESSION_REASONS.accountLoggingRole);
  if (targets.alarmTopic) suppress(targets.alarmTopic, 'AwsSolutions-SNS2', SUPPRESSION_REASONS.topicEncryption);
  if (targets.backupSelection) suppress(targets.backupSelection, BACKUP_POLICY, SUPPRESSION_REASONS.backupServiceRole);
}
