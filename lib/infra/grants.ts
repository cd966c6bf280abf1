/**
 * Turns the access table of ./access into IAM statements: per table, only the listed actions, on
 * that table's ARN (and its indexes by name for Query/Scan); per `@connections` method, this API's
 * own stage only.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import { TABLE_IDS, TABLE_SCHEMAS, type TableId } from '../store/schema';
import { FUNCTION_SPECS, INDEX_ACTIONS, tableActions, type ConnectionMethod, type FunctionId } from './access';

/** `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/@connections/*` */
function manageConnectionsArn(stack: Stack, apiId: string, stageName: string, method: ConnectionMethod): string {
  return stack.formatArn({
    service: 'execute-api',
    resource: apiId,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    resourceName: `${stageName}/${method}/@connections/*`,
  });
}

function tableStatement(fn: FunctionId, id: TableId, table: ITable): PolicyStatement | undefined {
  const actions = tableActions(fn, id);
  if (actions.length === 0) return undefined;
  const resources = [table.tableArn];
  const indexes = TABLE_SCHEMAS[id].globalSecondaryIndexes ?? [];
  if (actions.some((a) => INDEX_ACTIONS.includes(a))) {
    for (const index of indexes) resources.push(`${table.tableArn}/index/${index.indexName}`);
  }
  return new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources });
}

interface GrantTarget {
  readonly role: IRole;
  readonly tables: Readonly<Record<TableId, ITable>>;
  readonly apiId: string;
  readonly stageName: string;
}

/** Adds one function's table and `@connections` statements to its role. */
export function grantFunctionAccess(fn: FunctionId, target: GrantTarget): void {
  for (const id of TABLE_IDS) {
    const statement = tableStatement(fn, id, target.tables[id]);
    if (statement) target.role.addToPrincipalPolicy(statement);
  }
  const methods = FUNCTION_SPECS[fn].connections;
  if (methods.length === 0) return;
  const stack = Stack.of(target.role);
  target.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['execute-api:ManageConnections'],
      resources: methods.map((m) => manageConnectionsArn(stack, target.apiId, target.stageName, m)),
    }),
  );
}
