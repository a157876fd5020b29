/**
 * The shared behaviour of list endpoints: `q` filter, `sort_by`, `limit`, `fields`
 * projection and cursor pagination with `pq` and `from_prev`.
 *
 * Cursors are keyset cursors: base64url JSON holding the sort key of the item at the page
 * boundary, the direction, and the filter and sort they were issued for. A run created
 * between two page requests therefore neither shifts nor repeats items on later pages.
 * The response is `{items, first, next, previous}`; `next` and `previous` are null at the ends.
 */
import { compileFilter, FilterSyntaxError, parseFilter, type FilterFieldKind, type FilterNode } from './filter.js';
import { invalidQueryParameter, SimulatorHttpError } from './http-errors.js';
import type { JsonObject } from './run-view.js';

/** Default and maximum page size. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/** A list endpoint's items: their fields and how to sort them by default. */
export interface ListResource {
  /** Name that cursors are bound to, e.g. `runs` or `logs:<run id>`. */
  readonly scope: string;
  /** Every top-level field; fields with a kind can be filtered and sorted on, `json` fields only projected. */
  readonly fields: Readonly<Record<string, FilterFieldKind | 'json'>>;
  /** `sort_by` used when the request has none, e.g. `created_at:desc`. */
  readonly defaultSort: string;
}

/**
 * The items of a list endpoint: all of them, or a function that returns every item that can
 * match the parsed `q` filter (undefined without one). `listPage()` still applies the filter.
 */
export type ListItems = readonly JsonObject[] | ((filter: FilterNode | undefined) => readonly JsonObject[]);

/** A page of a list endpoint. */
export interface ListPage {
  readonly items: JsonObject[];
  readonly first: string;
  readonly next: string | null;
  readonly previous: string | null;
}

type Direction = 'asc' | 'desc';

interface SortKey {
  readonly field: string;
  readonly direction: Direction;
}

interface CursorPayload {
  /** Resource scope. */
  readonly r: string;
  /** Filter text. */
  readonly q: string;
  /** Sort text, normalised. */
  readonly s: string;
  /** `first` page, or pages `after` / `before` the boundary key. */
  readonly d: 'first' | 'after' | 'before';
  /** Sort values of the boundary item followed by its id. */
  readonly k: readonly unknown[];
}

function parseSort(text: string, resource: ListResource): SortKey[] {
  const keys = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part): SortKey => {
      const [field = '', direction = 'asc', ...extra] = part.split(':');
      const kind = resource.fields[field];
      if (kind === undefined || kind === 'json') {
        const sortable = Object.entries(resource.fields)
          .filter(([, fieldKind]) => fieldKind !== 'json')
          .map(([name]) => name);
        throw invalidQueryParameter(
          'sort_by',
          `Cannot sort by "${field}"; sortable fields are ${sortable.join(', ')}.`,
        );
      }
      if ((direction !== 'asc' && direction !== 'desc') || extra.length > 0) {
        throw invalidQueryParameter('sort_by', `Invalid sort "${part}"; expected field:asc or field:desc.`);
      }
      return { field, direction };
    });
  if (keys.length === 0) {
    throw invalidQueryParameter('sort_by', 'sort_by is empty; expected field:asc or field:desc, comma-separated.');
  }
  return keys;
}

/** Orders JSON scalars: null first, then booleans, numbers and strings by value. */
function compareScalars(left: unknown, right: unknown): number {
  if (left === right) return 0;
  if (left === null || left === undefined) return -1;
  if (right === null || right === undefined) return 1;
  if (typeof left === 'number' && typeof right === 'number') return Math.sign(left - right);
  if (typeof left === 'boolean' && typeof right === 'boolean') return left ? 1 : -1;
  const leftText = String(left);
  const rightText = String(right);
  if (leftText === rightText) return 0;
  return leftText < rightText ? -1 : 1;
}

/** Returns the values that order an item: its sort fields, then its id as the tie-breaker. */
function sortValues(item: JsonObject, keys: readonly SortKey[]): unknown[] {
  return [...keys.map((key) => item[key.field] ?? null), item['id'] ?? null];
}

/** Compares two sort-value lists; the id tie-breaker runs in the direction of the first key. */
function compareSortValues(left: readonly unknown[], right: readonly unknown[], keys: readonly SortKey[]): number {
  const directions = [...keys.map((key) => key.direction), keys[0]?.direction ?? 'asc'];
  for (const [index, direction] of directions.entries()) {
    const order = compareScalars(left[index], right[index]);
    if (order !== 0) return direction === 'asc' ? order : -order;
  }
  return 0;
}

function encodeCursor(payload: CursorPayload): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeCursor(text: string, resource: ListResource, keyCount: (sort: string) => number): CursorPayload {
  const invalid = (): never => {
    throw new SimulatorHttpError(
      400,
      'INVALID_CURSOR',
      'Invalid pq cursor; send back a first, next or previous value from a response of this list.',
    );
  };
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return invalid();
  }
  if (typeof payload !== 'object' || payload === null) return invalid();
  const { r, q, s, d, k } = payload as Record<string, unknown>;
  if (typeof r !== 'string' || typeof q !== 'string' || typeof s !== 'string' || !Array.isArray(k)) return invalid();
  if (d !== 'first' && d !== 'after' && d !== 'before') return invalid();
  if (r !== resource.scope) {
    throw new SimulatorHttpError(400, 'INVALID_CURSOR', 'Invalid pq cursor: it was issued by another list endpoint.');
  }
  if (d !== 'first' && k.length !== keyCount(s)) return invalid();
  return { r, q, s, d, k };
}

function parseLimit(text: string | null): number {
  if (text === null) return DEFAULT_PAGE_LIMIT;
  const limit = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw invalidQueryParameter(
      'limit',
      `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got "${text}".`,
      'out_of_range',
    );
  }
  return limit;
}

function parseFromPrev(text: string | null): boolean | undefined {
  if (text === null) return undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw invalidQueryParameter('from_prev', `from_prev must be true or false, got "${text}".`, 'type_error');
}

function parseFields(text: string | null, resource: ListResource): string[] | undefined {
  if (text === null) return undefined;
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) return undefined;
  const unknown = names.filter((name) => resource.fields[name] === undefined);
  if (unknown.length > 0) {
    throw invalidQueryParameter(
      'fields',
      `Unknown field ${unknown.join(', ')} in fields; known fields are ${Object.keys(resource.fields).join(', ')}.`,
    );
  }
  return names;
}

function parseQuery(text: string, resource: ListResource): FilterNode | undefined {
  if (text.trim() === '') return undefined;
  const filterable = Object.fromEntries(
    Object.entries(resource.fields).filter((entry): entry is [string, FilterFieldKind] => entry[1] !== 'json'),
  );
  try {
    return parseFilter(text, filterable);
  } catch (error) {
    if (error instanceof FilterSyntaxError) {
      throw new SimulatorHttpError(400, 'INVALID_FILTER', error.message, [
        { loc: ['query', 'q'], msg: error.message, type: 'filter_syntax' },
      ]);
    }
    throw error;
  }
}

function project(item: JsonObject, fields: readonly string[] | undefined): JsonObject {
  if (fields === undefined) return item;
  return Object.fromEntries(fields.map((field) => [field, item[field] ?? null]));
}

/**
 * Returns the page of `items` that the list query in `params` requests, and passes the items
 * of the page to `onPage` before the `fields` projection. Throws SimulatorHttpError on invalid
 * parameters.
 */
export function listPage(
  items: ListItems,
  params: URLSearchParams,
  resource: ListResource,
  onPage?: (pageItems: readonly JsonObject[]) => void,
): ListPage {
  const limit = parseLimit(params.get('limit'));
  const fields = parseFields(params.get('fields'), resource);
  const fromPrev = parseFromPrev(params.get('from_prev'));

  // With a cursor, the filter and sort it was issued for apply; a request that names others is rejected.
  const cursorText = params.get('pq');
  const requestedQuery = params.get('q');
  const requestedSort = params.get('sort_by');
  let cursor: CursorPayload | undefined;
  if (cursorText !== null && cursorText !== '') {
    cursor = decodeCursor(cursorText, resource, (sort) => parseSort(sort, resource).length + 1);
    if (requestedQuery !== null && requestedQuery !== cursor.q) {
      throw new SimulatorHttpError(
        400,
        'INVALID_CURSOR',
        `The pq cursor was issued for q="${cursor.q}", not q="${requestedQuery}".`,
      );
    }
    if (requestedSort !== null && parseSort(requestedSort, resource).map(formatSortKey).join(',') !== cursor.s) {
      throw new SimulatorHttpError(
        400,
        'INVALID_CURSOR',
        `The pq cursor was issued for sort_by=${cursor.s}, not sort_by=${requestedSort}.`,
      );
    }
  }
  const queryText = cursor?.q ?? requestedQuery ?? '';
  const sortKeys = parseSort(cursor?.s ?? requestedSort ?? resource.defaultSort, resource);
  const sortText = sortKeys.map(formatSortKey).join(',');
  const filter = parseQuery(queryText, resource);
  const matches = filter === undefined ? undefined : compileFilter(filter);
  const candidates = typeof items === 'function' ? items(filter) : items;

  const sorted = candidates
    .filter((item) => matches === undefined || matches(item))
    .map((item) => ({ item, key: sortValues(item, sortKeys) }))
    .sort((left, right) => compareSortValues(left.key, right.key, sortKeys));

  // An explicit from_prev decides the direction; otherwise the cursor's own direction does.
  const boundary = cursor === undefined || cursor.d === 'first' ? undefined : cursor.k;
  const backward = fromPrev ?? cursor?.d === 'before';
  let start: number;
  let end: number;
  if (backward) {
    end =
      boundary === undefined
        ? sorted.length
        : sorted.findIndex((entry) => compareSortValues(entry.key, boundary, sortKeys) >= 0);
    if (end === -1) end = sorted.length;
    start = Math.max(0, end - limit);
  } else {
    start =
      boundary === undefined ? 0 : sorted.findIndex((entry) => compareSortValues(entry.key, boundary, sortKeys) > 0);
    if (start === -1) start = sorted.length;
    end = Math.min(sorted.length, start + limit);
  }
  const page = sorted.slice(start, end);
  onPage?.(page.map((entry) => entry.item));

  const makeCursor = (d: CursorPayload['d'], k: readonly unknown[]): string =>
    encodeCursor({ r: resource.scope, q: queryText, s: sortText, d, k });
  const firstKey = page[0]?.key ?? boundary;
  const lastKey = page[page.length - 1]?.key ?? boundary;
  return {
    items: page.map((entry) => project(entry.item, fields)),
    first: makeCursor('first', []),
    next: end < sorted.length && lastKey !== undefined ? makeCursor('after', lastKey) : null,
    previous: start > 0 && firstKey !== undefined ? makeCursor('before', firstKey) : null,
  };
}

function formatSortKey(key: SortKey): string {
  return `${key.field}:${key.direction}`;
}
