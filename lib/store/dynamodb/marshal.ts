/**
 * A small typed marshaller between our records and DynamoDB items. Each record type declares one
 * codec per field; a missing field spec is a type error, and an item of the wrong shape is a
 * CorruptItemError, never a silently wrong record.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CorruptItemError } from '../errors';

export type Item = Record<string, AttributeValue>;

export interface AttributeCodec<T> {
  encode(value: T): AttributeValue;
  /** undefined when the attribute does not hold a T */
  decode(attribute: AttributeValue): T | undefined;
}

export const str: AttributeCodec<string> = {
  encode: (value) => ({ S: value }),
  decode: (a) => a.S,
};

export const num: AttributeCodec<number> = {
  encode: (value) => {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    return { N: String(value) };
  },
  decode: (a) => (a.N === undefined ? undefined : Number(a.N)),
};

export const bool: AttributeCodec<boolean> = {
  encode: (value) => ({ BOOL: value }),
  decode: (a) => a.BOOL,
};

/** A JSON document stored as S; decodes to undefined (a corrupt item) unless `parse` accepts it. */
export function jsonOf<T>(parse: (value: unknown) => T | undefined): AttributeCodec<T> {
  return {
    encode: (value) => ({ S: JSON.stringify(value) }),
    decode: (a) => {
      if (a.S === undefined) return undefined;
      try {
        return parse(JSON.parse(a.S));
      } catch {
        return undefined;
      }
    },
  };
}

/** One of a fixed set of strings, stored as S. */
export function strOneOf<const V extends string>(values: readonly V[]): AttributeCodec<V> {
  return {
    encode: (value) => ({ S: value }),
    decode: (a) => (values as readonly string[]).includes(a.S as string) ? (a.S as V) : undefined,
  };
}

/** One of a fixed set of numbers, stored as N. */
export function numOneOf<const V extends number>(values: readonly V[]): AttributeCodec<V> {
  return {
    encode: (value) => num.encode(value),
    decode: (a) => {
      const n = num.decode(a);
      return n !== undefined && (values as readonly number[]).includes(n) ? (n as V) : undefined;
    },
  };
}

export interface FieldSpec<T> {
  readonly codec: AttributeCodec<T>;
  readonly optional: boolean;
}

export const required = <T>(codec: AttributeCodec<T>): FieldSpec<T> & { optional: false } => ({
  codec,
  optional: false,
});
export const optional = <T>(codec: AttributeCodec<T>): FieldSpec<T> & { optional: true } => ({
  codec,
  optional: true,
});

/** One spec per key of R: `optional(...)` exactly for the optional keys. */
export type FieldSpecs<R> = {
  [K in keyof R]-?: undefined extends R[K]
    ? FieldSpec<NonNullable<R[K]>> & { optional: true }
    : FieldSpec<R[K]> & { optional: false };
};

export interface RecordCodec<R> {
  /** The whole record as an item; undefined optional fields are left out. */
  toItem(record: R): Item;
  /** Only the fields present in `partial`, e.g. for an UpdateItem SET. */
  toAttributes(partial: Partial<R>): Item;
  fromItem(item: Item): R;
}

export function recordCodec<R extends object>(table: string, fields: FieldSpecs<R>): RecordCodec<R> {
  const entries = Object.entries(fields) as [keyof R & string, FieldSpec<unknown>][];

  const toAttributes = (partial: Partial<R>): Item => {
    const item: Item = {};
    for (const [key, spec] of entries) {
      const value = partial[key];
      if (value !== undefined) item[key] = spec.codec.encode(value);
    }
    return item;
  };

  return {
    toAttributes,
    toItem(record) {
      for (const [key, spec] of entries) {
        if (!spec.optional && record[key] === undefined) throw new TypeError(`${table}: ${key} is required`);
      }
      return toAttributes(record);
    },
    fromItem(item) {
      const record: Partial<Record<keyof R, unknown>> = {};
      for (const [key, spec] of entries) {
        const attribute = item[key];
        if (attribute === undefined) {
          if (!spec.optional) throw new CorruptItemError(table, `${key} is missing`);
          continue;
        }
        const value = spec.codec.decode(attribute);
        if (value === undefined) throw new CorruptItemError(table, `${key} has the wrong type`);
        record[key] = value;
      }
      return record as R;
    },
  };
}
