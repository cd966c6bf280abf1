/**
 * The optional AWS Backup plan: a daily backup of the tables whose loss loses state a client cannot
 * rebuild (users and rules, retained messages, persistent sessions), kept `retention`, with an
 * optional copy of each to a vault in another Region. The other tables hold what reconnecting
 * clients rebuild (connections, subscriptions of ended sessions, in-flight messages), and every
 * table keeps point-in-time recovery (35 days, this Region) anyway.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { BackupPlan, BackupPlanRule, BackupResource, BackupVault, type BackupSelection } from 'aws-cdk-lib/aws-backup';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Schedule } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import type { TableId } from '../store/schema';
import type { ResolvedBackupProps } from './props';

/** The tables the plan backs up (lib/store/schema.ts ids). */
export const BACKED_UP_TABLES = ['auth', 'retained', 'sessions'] as const satisfies readonly TableId[];

/** 03:00 UTC daily: AWS Backup starts a job within its start window (8 hours by default) after it. */
const DAILY = Schedule.cron({ hour: '3', minute: '0' });

export interface BrokerBackup {
  readonly plan: BackupPlan;
  readonly vault: BackupVault;
  readonly selection: BackupSelection;
}

export function createBackupPlan(scope: Construct, backup: ResolvedBackupProps, tables: Readonly<Record<TableId, ITable>>): BrokerBackup {
  // Kept with the stack deleted: recovery points exist to outlive what they protect (and a vault
  // that holds any cannot be deleted).
  const vault = new BackupVault(scope, 'BackupVault', { removalPolicy: RemovalPolicy.RETAIN });
  const copyVault = backup.copyToVaultArn ? BackupVault.fromBackupVaultArn(scope, 'BackupCopyVault', backup.copyToVaultArn) : undefined;
  const plan = new BackupPlan(scope, 'BackupPlan', {
    backupVault: vault,
    backupPlanRules: [
      new BackupPlanRule({
        ruleName: 'Daily',
        scheduleExpression: DAILY,
        deleteAfter: backup.retention,
        copyActions: copyVault ? [{ destinationBackupVault: copyVault, deleteAfter: backup.copyRetention }] : undefined,
      }),
    ],
  });
  const selection = plan.addSelection('Tables', {
    resources: BACKED_UP_TABLES.map((id) => BackupResource.fromDynamoDbTable(tables[id])),
    // Restores are an operator's job, with their own credentials: the plan's role only backs up.
    allowRestores: false,
  });
  return { plan, vault, selection };
}
