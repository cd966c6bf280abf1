/**
 * Building update and condition expressions. Every attribute name goes through a placeholder
 * (`#name`), so DynamoDB reserved words (status, username, ...) never bite.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Item } from './marshal';

export class ExpressionBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private counter = 0;

  /** The placeholder of an attribute name. */
  name(attribute: string): string {
    const placeholder = `#${attribute.replace(/[^A-Za-z0-9_]/g, '_')}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  /** A fresh placeholder for a value. */
  value(value: AttributeValue): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** `SET #a = :v0, #b = :v1` for every attribute of the item. */
  set(attributes: Item): string {
    const assignments = Object.entries(attributes).map(([k, v]) => `${this.name(k)} = ${this.value(v)}`);
    return `SET ${assignments.join(', ')}`;
  }

  /** The parts of a request that carry the placeholders (left out when empty). */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  } {
    return {
      ...(Object.keys(this.names).length > 0 && { ExpressionAttributeNames: this.names }),
      ...(Object.keys(this.values).length > 0 && { ExpressionAttributeValues: this.values }),
    };
  }
}
