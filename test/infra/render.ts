/**
 * Renders CloudFormation intrinsics as readable strings for assertions:
 * `{ Ref: X }` -> `${X}`, `{ 'Fn::GetAtt': [X, 'Arn'] }` -> `${X.Arn}`, `Fn::Join` concatenated.
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(render).join(',');
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('Ref' in obj) return `\${${String(obj.Ref)}}`;
    if ('Fn::GetAtt' in obj) return `\${${(obj['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
  }
  return JSON.stringify(value);
}

/** `Statement` entries as arrays, with actions and resources rendered. */
export interface RenderedStatement {
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function renderStatement(statement: Record<string, unknown>): RenderedStatement {
  return {
    effect: String(statement.Effect),
    actions: asArray(statement.Action as string | string[]).map(String),
    resources: asArray(statement.Resource).map(render),
  };
}
