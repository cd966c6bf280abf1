/**
 * StratusStack: one MqttBroker and the outputs an operator needs: the URL to connect to, the table
 * names, and a one-line connect example.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TABLE_IDS } from '../store/schema';
import { MqttBroker } from './mqtt-broker';
import type { MqttBrokerProps } from './props';
import { pascalCase } from './tables';

export interface StratusStackProps extends StackProps {
  /**
   * The broker's configuration.
   * @default - MqttBroker defaults
   */
  readonly broker?: MqttBrokerProps;
}

/** The one-line example printed after `cdk deploy`. */
export function connectExample(url: string): string {
  return `import { connect } from 'stratus-mqtt/client'; connect('${url}')`;
}

export class StratusStack extends Stack {
  readonly broker: MqttBroker;

  constructor(scope: Construct, id: string, props: StratusStackProps = {}) {
    super(scope, id, {
      description: 'Stratus: a serverless MQTT broker (API Gateway WebSocket + Lambda + DynamoDB)',
      ...props,
    });
    this.broker = new MqttBroker(this, 'Broker', props.broker);
    const broker = this.broker;

    new CfnOutput(this, 'WebSocketUrl', { value: broker.url, description: 'Connect MQTT clients here (MQTT as base64 text frames)' });
    new CfnOutput(this, 'ManagementEndpoint', { value: broker.managementEndpoint, description: 'The @connections callback URL' });
    for (const id of TABLE_IDS) {
      new CfnOutput(this, `${pascalCase(id)}TableName`, { value: broker.tables[id].tableName, description: `DynamoDB table '${id}'` });
    }
    new CfnOutput(this, 'ConnectExample', { value: connectExample(broker.url), description: 'Connect with MQTT.js through the Stratus transport' });
    if (broker.domainName) {
      const domain = broker.config.customDomain?.domainName;
      new CfnOutput(this, 'CustomDomainTarget', {
        value: broker.domainName.regionalDomainName,
        description: broker.aliasRecord
          ? `The alias record for ${domain} points here (created by the stack)`
          : `Point a CNAME (or alias) record for ${domain} here`,
      });
      new CfnOutput(this, 'ExecuteApiUrl', {
        value: broker.stage.url,
        description: 'The same API on its execute-api domain (works before the custom domain resolves)',
      });
    }
    if (broker.backup) {
      new CfnOutput(this, 'BackupVaultName', { value: broker.backup.vault.backupVaultName, description: 'AWS Backup vault of the daily table backups (kept with the stack deleted)' });
    }
    if (broker.alarmTopic) {
      new CfnOutput(this, 'AlarmTopicArn', { value: broker.alarmTopic.topicArn, description: 'Alarm notifications (confirm the e-mail subscription)' });
    }
  }
}
