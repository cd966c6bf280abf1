/**
 * The optional operational features, all on in one StratusStack (synthesized once without
 * bundling, checked by cdk-nag): a custom domain with a certificate created in a hosted zone, an
 * alias record and a root mapping; an AWS Backup plan with a cross-Region copy; a cost budget; and
 * a per-client publish rate. Off by default: stack.test.ts checks the default stack has none.
 */
import { Duration, type CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKED_UP_TABLES } from '../../lib/infra/backup';
import { BUDGET_THRESHOLD_PERCENT } from '../../lib/infra/budget';
import { TABLE_IDS } from '../../lib/store/schema';
import { render } from './render';
import { synthStratus, type Synthesized } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

const ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const COPY_VAULT = 'arn:aws:backup:eu-central-1:123456789012:backup-vault:stratus-dr';

beforeEach(() => {
  expect.hasAssertions();
});

describe('StratusStack with every operational option (cdk-nag)', () => {
  let s: Synthesized;
  const resources = (type: string) => s.template.findResources(type) as Record<string, Resource>;
  const only = (type: string): [string, Resource] => {
    const all = Object.entries(resources(type));
    expect(all, type).toHaveLength(1);
    return all[0]!;
  };
  const logicalId = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as CfnElement);
  const executeApiUrl = () => `wss://\${${logicalId(s.stack.broker.api)}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/mqtt`;

  beforeAll(() => {
    s = synthStratus(
      {
        broker: {
          customDomain: { domainName: 'mqtt.example.com', hostedZone: { hostedZoneId: ZONE_ID, zoneName: 'example.com' }, basePath: '' },
          backup: { retention: Duration.days(14), copyToVaultArn: COPY_VAULT, copyRetention: Duration.days(90) },
          budget: { monthlyUsd: 50, email: 'billing@example.com' },
          clientPublishRate: { perSecond: 5 },
        },
      },
      { bundling: false, nag: true },
    );
  });
  afterAll(() => s?.cleanup());

  it('passes cdk-nag; the one new acknowledgement is the backup role\'s AWS-managed policy (lib/infra/nag.ts)', () => {
    expect(s.synthError).toBeUndefined();
    expect(s.violations).toEqual([]);
  });

  describe('custom domain', () => {
    it('creates an ACM certificate for the domain, validated by DNS in the hosted zone', () => {
      const [, cert] = only('AWS::CertificateManager::Certificate');
      expect(cert.Properties).toMatchObject({
        DomainName: 'mqtt.example.com',
        ValidationMethod: 'DNS',
        DomainValidationOptions: [{ DomainName: 'mqtt.example.com', HostedZoneId: ZONE_ID }],
      });
    });

    it('gives the regional domain name that certificate and maps the stage at the root', () => {
      const [certId] = only('AWS::CertificateManager::Certificate');
      const [, domain] = only('AWS::ApiGatewayV2::DomainName');
      expect(domain.Properties).toMatchObject({
        DomainName: 'mqtt.example.com',
        DomainNameConfigurations: [expect.objectContaining({ CertificateArn: { Ref: certId }, EndpointType: 'REGIONAL' })],
      });
      const [, mapping] = only('AWS::ApiGatewayV2::ApiMapping');
      expect(mapping.Properties.ApiMappingKey).toBeUndefined();
      expect(mapping.Properties.Stage).toBe('mqtt');
    });

    it('creates an A alias record in the zone, pointing at the API domain', () => {
      const [domainId] = only('AWS::ApiGatewayV2::DomainName');
      const [, record] = only('AWS::Route53::RecordSet');
      expect(record.Properties).toMatchObject({
        Type: 'A',
        Name: 'mqtt.example.com.',
        HostedZoneId: ZONE_ID,
        AliasTarget: {
          DNSName: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] },
          HostedZoneId: { 'Fn::GetAtt': [domainId, 'RegionalHostedZoneId'] },
        },
      });
    });

    it('prints wss://mqtt.example.com as the URL, and the execute-api URL beside it', () => {
      const outputs = s.template.findOutputs('*');
      expect(outputs.WebSocketUrl!.Value).toBe('wss://mqtt.example.com');
      expect(outputs.ConnectExample!.Value).toBe("import { connect } from 'stratus-mqtt/client'; connect('wss://mqtt.example.com')");
      expect(render(outputs.ExecuteApiUrl!.Value)).toBe(executeApiUrl());
      expect(outputs.CustomDomainTarget!.Description).toMatch(/^The alias record for mqtt.example.com points here \(created by the stack\)$/);
    });

    it('the functions keep calling @connections on the execute-api endpoint', () => {
      const expected = `https://\${${logicalId(s.stack.broker.api)}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/mqtt`;
      expect(render(s.template.findOutputs('*').ManagementEndpoint!.Value)).toBe(expected);
      for (const fn of Object.values(resources('AWS::Lambda::Function'))) {
        expect(render(fn.Properties.Environment.Variables.STRATUS_MANAGEMENT_ENDPOINT)).toBe(expected);
      }
    });
  });

  describe('backups', () => {
    it('backs up the auth, retained and sessions tables, and no other', () => {
      expect([...BACKED_UP_TABLES].sort()).toEqual(['auth', 'retained', 'sessions']);
      const [, selection] = only('AWS::Backup::BackupSelection');
      const arns = (selection.Properties.BackupSelection.Resources as unknown[]).map(render).sort();
      const tableArn = (id: (typeof TABLE_IDS)[number]) => `\${${logicalId(s.stack.broker.tables[id])}.Arn}`;
      expect(arns).toEqual(BACKED_UP_TABLES.map(tableArn).sort());
    });

    it('daily at 03:00 UTC, kept 14 days, copied to the other Region\'s vault and kept 90 days there', () => {
      const [vaultId] = only('AWS::Backup::BackupVault');
      const [, plan] = only('AWS::Backup::BackupPlan');
      const rules = plan.Properties.BackupPlan.BackupPlanRule as Record<string, any>[];
      expect(rules).toHaveLength(1);
      expect(rules[0]).toMatchObject({
        RuleName: 'Daily',
        ScheduleExpression: 'cron(0 3 * * ? *)',
        TargetBackupVault: { 'Fn::GetAtt': [vaultId, 'BackupVaultName'] },
        Lifecycle: { DeleteAfterDays: 14 },
        CopyActions: [{ DestinationBackupVaultArn: COPY_VAULT, Lifecycle: { DeleteAfterDays: 90 } }],
      });
    });

    it('keeps the vault when the stack is deleted, and names it in the outputs', () => {
      const [vaultId, vault] = only('AWS::Backup::BackupVault');
      expect(vault.DeletionPolicy).toBe('Retain');
      expect(s.template.findOutputs('*').BackupVaultName!.Value).toEqual({ 'Fn::GetAtt': [vaultId, 'BackupVaultName'] });
    });

    it('its role is trusted by AWS Backup only and may back up, not restore', () => {
      const [, selection] = only('AWS::Backup::BackupSelection');
      const roleId = (selection.Properties.BackupSelection.IamRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const role = resources('AWS::IAM::Role')[roleId]!;
      expect(role.Properties.AssumeRolePolicyDocument.Statement.map((st: { Principal: { Service: string } }) => st.Principal.Service)).toEqual(['backup.amazonaws.com']);
      const policies = (role.Properties.ManagedPolicyArns as unknown[]).map(render);
      expect(policies).toEqual(['arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup']);
    });
  });

  describe('budget', () => {
    it('a monthly cost budget in US dollars, e-mailing on actual and forecast cost over the amount', () => {
      const [, budget] = only('AWS::Budgets::Budget');
      expect(budget.Properties.Budget).toEqual({ BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 50, Unit: 'USD' } });
      const notifications = budget.Properties.NotificationsWithSubscribers as { Notification: Record<string, unknown>; Subscribers: unknown[] }[];
      expect(notifications.map((n) => n.Notification.NotificationType).sort()).toEqual(['ACTUAL', 'FORECASTED']);
      for (const n of notifications) {
        expect(n.Notification).toMatchObject({ ComparisonOperator: 'GREATER_THAN', Threshold: BUDGET_THRESHOLD_PERCENT, ThresholdType: 'PERCENTAGE' });
        expect(n.Subscribers).toEqual([{ SubscriptionType: 'EMAIL', Address: 'billing@example.com' }]);
      }
    });
  });

  it('per-client publish rate: 5 per second, the burst twice that, to the message function only', () => {
    const message = s.stack.broker.functions.message!;
    for (const [id, fn] of Object.entries(resources('AWS::Lambda::Function'))) {
      const env = fn.Properties.Environment.Variables;
      if (id === logicalId(message)) expect(env).toMatchObject({ STRATUS_PUBLISH_RATE_PER_SECOND: '5', STRATUS_PUBLISH_RATE_BURST: '10' });
      else expect(env).not.toHaveProperty('STRATUS_PUBLISH_RATE_PER_SECOND');
    }
  });
});
