import { isLeft } from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { type DecodeIssue, RunflowDecodeError } from '../errors.js';

/**
 * Decodes `value` with `codec`, or throws a RunflowDecodeError that names each failing path once
 * with the expected type and the received value.
 */
export function decodeOrThrow<A, O>(codec: t.Type<A, O, unknown>, value: unknown, target: string): A {
  const result = codec.decode(value);
  if (isLeft(result)) throw new RunflowDecodeError(target, toIssues(result.left, codec.name, value), value);
  return result.right;
}

/**
 * Turns io-ts errors into one issue per path.
 *
 * io-ts adds a context entry for every member of an intersection or union. Those entries are
 * not part of the data's path, so they are left out. A failed `X | null` union is reported as
 * the failure inside `X`, since the null alternative only ever reports "expected null". Any other
 * failed union is reported once, by its own name.
 */
export function toIssues(errors: t.Errors, rootName: string, rootValue: unknown): DecodeIssue[] {
  const byPath = new Map<string, DecodeIssue>();
  for (const error of errors) {
    const issue = toIssue(error);
    if (issue !== undefined && !byPath.has(issue.path)) byPath.set(issue.path, issue);
  }
  if (byPath.size === 0) return [{ path: '', expected: rootName, received: rootValue }];
  return [...byPath.values()];
}

function toIssue(error: t.ValidationError): DecodeIssue | undefined {
  const keys: string[] = [];
  let expected = error.context[0]?.type.name ?? 'unknown';
  let received = error.value;
  for (let i = 1; i < error.context.length; i++) {
    const parent = error.context[i - 1]!;
    const entry = error.context[i]!;
    if (parent.type instanceof t.UnionType) {
      if (!isNullableUnion(parent.type)) {
        received = parent.actual;
        break;
      }
      if (isNullish(entry.type)) return undefined;
      continue;
    }
    if (isStructural(parent.type)) {
      keys.push(entry.key);
      expected = entry.type.name;
      received = entry.actual;
    }
  }
  // A codec that fails with a message states the rule it checks, such as "must have run_id or batch_id".
  if (error.message !== undefined) expected = error.message;
  return { path: keys.join('.'), expected, received: error.context.length > 1 ? received : error.value };
}

/** Types whose context entries are object keys or array indices of the data. */
function isStructural(type: t.Decoder<unknown, unknown>): boolean {
  return (
    type instanceof t.InterfaceType ||
    type instanceof t.PartialType ||
    type instanceof t.ArrayType ||
    type instanceof t.ReadonlyArrayType ||
    type instanceof t.DictionaryType ||
    type instanceof t.TupleType ||
    type instanceof t.ExactType
  );
}

function isNullish(type: t.Decoder<unknown, unknown>): boolean {
  return type instanceof t.NullType || type instanceof t.UndefinedType;
}

/** True for a union of one type with null and/or undefined, as `nullable()` builds. */
function isNullableUnion(type: t.UnionType<t.Mixed[]>): boolean {
  return type.types.filter((member) => !isNullish(member)).length === 1;
}
