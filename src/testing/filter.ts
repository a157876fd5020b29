/**
 * The `q` filter of list endpoints: comparisons such as `status_code:succeeded` or
 * `created_at>2026-04-01`, joined with `AND`, `OR` and `NOT`, with optional parentheses.
 * `AND` binds tighter than `OR`, keywords are upper case, and string comparisons are
 * case-sensitive.
 *
 * Grammar:
 *   expression := and ("OR" and)*
 *   and        := unary ("AND" unary)*
 *   unary      := "NOT" unary | "(" expression ")" | comparison
 *   comparison := field operator value
 *   operator   := ":" | "=" | ">" | "<" | ">=" | "<="
 *   value      := "double-quoted string" | bare word (up to whitespace or a parenthesis) | null
 */

/** Kind of a field's values, which decides how filters compare them. */
export type FilterFieldKind = 'string' | 'number' | 'boolean' | 'date';

/** Comparison operator; `:` and `=` both test equality. */
export type FilterOperator = ':' | '=' | '>' | '<' | '>=' | '<=';

/** A parsed filter expression. */
export type FilterNode =
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  | {
      readonly kind: 'compare';
      readonly field: string;
      readonly fieldKind: FilterFieldKind;
      readonly operator: FilterOperator;
      /** The literal; null for the bare word `null`. */
      readonly value: string | null;
    };

/** A syntax error in `q`, with the offending token. */
export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    /** The token at which parsing failed, or an empty string at the end of the filter. */
    readonly token: string,
    /** 0-based position of the token in the filter. */
    readonly position: number,
  ) {
    super(message);
    this.name = 'FilterSyntaxError';
  }
}

const FIELD_PATTERN = /[A-Za-z_][A-Za-z0-9_]*/y;
const OPERATORS: readonly FilterOperator[] = ['>=', '<=', ':', '=', '>', '<'];

class FilterParser {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly fields: Readonly<Record<string, FilterFieldKind>>,
  ) {}

  parse(): FilterNode {
    const node = this.parseOr();
    this.skipWhitespace();
    if (this.position < this.text.length) {
      this.fail('expected AND, OR, a closing parenthesis or the end of the filter');
    }
    return node;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.acceptKeyword('OR')) {
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.acceptKeyword('AND')) {
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.acceptKeyword('NOT')) {
      return { kind: 'not', operand: this.parseUnary() };
    }
    this.skipWhitespace();
    if (this.text[this.position] === '(') {
      this.position += 1;
      const inner = this.parseOr();
      this.skipWhitespace();
      if (this.text[this.position] !== ')') {
        this.fail('expected a closing parenthesis');
      }
      this.position += 1;
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): FilterNode {
    this.skipWhitespace();
    const fieldStart = this.position;
    FIELD_PATTERN.lastIndex = this.position;
    const match = FIELD_PATTERN.exec(this.text);
    if (match === null) {
      this.fail('expected a field name');
    }
    const field = match[0];
    const fieldKind = this.fields[field];
    if (fieldKind === undefined) {
      this.position = fieldStart;
      this.fail(`unknown field; filterable fields are ${Object.keys(this.fields).join(', ')}`);
    }
    this.position += field.length;

    this.skipWhitespace();
    const operator = OPERATORS.find((candidate) => this.text.startsWith(candidate, this.position));
    if (operator === undefined) {
      this.fail(`expected one of the operators ${OPERATORS.join(' ')} after ${field}`);
    }
    this.position += operator.length;

    this.skipWhitespace();
    const valueStart = this.position;
    const value = this.parseValue(field, operator);
    if (value !== null) {
      validateValue(value, fieldKind, field, valueStart);
    }
    return { kind: 'compare', field, fieldKind, operator, value };
  }

  private parseValue(field: string, operator: FilterOperator): string | null {
    if (this.text[this.position] === '"') {
      let value = '';
      this.position += 1;
      while (this.position < this.text.length && this.text[this.position] !== '"') {
        if (this.text[this.position] === '\\' && this.position + 1 < this.text.length) {
          this.position += 1;
        }
        value += this.text[this.position];
        this.position += 1;
      }
      if (this.position >= this.text.length) {
        this.fail('expected a closing double quote');
      }
      this.position += 1;
      return value;
    }

    const start = this.position;
    while (this.position < this.text.length && !/[\s()]/.test(this.text[this.position] ?? '')) {
      this.position += 1;
    }
    const word = this.text.slice(start, this.position);
    if (word === '') {
      this.fail(`expected a value after ${field}${operator}`);
    }
    return word === 'null' ? null : word;
  }

  /** Consumes `keyword` when it comes next as a whole word. */
  private acceptKeyword(keyword: string): boolean {
    this.skipWhitespace();
    if (!this.text.startsWith(keyword, this.position)) {
      return false;
    }
    const next = this.text[this.position + keyword.length];
    if (next !== undefined && !/[\s(]/.test(next)) {
      return false;
    }
    this.position += keyword.length;
    return true;
  }

  private skipWhitespace(): void {
    while (/\s/.test(this.text[this.position] ?? '')) {
      this.position += 1;
    }
  }

  private fail(expectation: string): never {
    const rest = this.text.slice(this.position);
    const token = /^[^\s]*/.exec(rest)?.[0] ?? '';
    const found = token === '' ? 'the end of the filter' : `"${token}"`;
    throw new FilterSyntaxError(
      `Invalid filter at position ${this.position}: ${expectation}, found ${found}.`,
      token,
      this.position,
    );
  }
}

function validateValue(value: string, kind: FilterFieldKind, field: string, position: number): void {
  const invalid = (expected: string): never => {
    throw new FilterSyntaxError(
      `Invalid filter value for ${field} at position ${position}: expected ${expected}, found "${value}".`,
      value,
      position,
    );
  };
  if (kind === 'date' && Number.isNaN(Date.parse(value))) invalid('an ISO 8601 date or date-time');
  if (kind === 'number' && !Number.isFinite(Number(value))) invalid('a number');
  if (kind === 'boolean' && value !== 'true' && value !== 'false') invalid('true or false');
}

/**
 * Parses `q` for items whose filterable fields and their kinds are `fields`.
 * Throws FilterSyntaxError naming the token on a syntax error or an unknown field.
 */
export function parseFilter(text: string, fields: Readonly<Record<string, FilterFieldKind>>): FilterNode {
  return new FilterParser(text, fields).parse();
}

/** Returns -1, 0 or 1 comparing an item value with a filter literal, or undefined when they cannot be ordered. */
function compareValues(actual: unknown, literal: string, kind: FilterFieldKind): number | undefined {
  switch (kind) {
    case 'date': {
      if (typeof actual !== 'string') return undefined;
      return Math.sign(Date.parse(actual) - Date.parse(literal));
    }
    case 'number': {
      if (typeof actual !== 'number') return undefined;
      return Math.sign(actual - Number(literal));
    }
    case 'boolean':
      return typeof actual === 'boolean' && String(actual) === literal ? 0 : undefined;
    case 'string': {
      if (typeof actual !== 'string') return undefined;
      if (actual === literal) return 0;
      return actual < literal ? -1 : 1;
    }
  }
}

/** A compiled filter: returns whether an item matches. */
export type FilterPredicate = (item: Readonly<Record<string, unknown>>) => boolean;

type Comparison = Extract<FilterNode, { kind: 'compare' }>;

/** Returns whether `item` matches the filter. Compile once with `compileFilter()` to test many items. */
export function matchesFilter(node: FilterNode, item: Readonly<Record<string, unknown>>): boolean {
  return compileFilter(node)(item);
}

/**
 * Compiles a parsed filter into a predicate. The time to compile and to test one item grows
 * linearly with the number of terms, and long `AND`/`OR` chains use no recursion, so a
 * client can filter on 500 or more ids. Equality tests of one string field joined by `OR`,
 * such as `id:a OR id:b`, become one set lookup.
 */
export function compileFilter(node: FilterNode): FilterPredicate {
  switch (node.kind) {
    case 'or':
      return compileOr(chainOperands(node, 'or'));
    case 'and': {
      const operands = chainOperands(node, 'and').map(compileFilter);
      return (item) => operands.every((operand) => operand(item));
    }
    case 'not': {
      const operand = compileFilter(node.operand);
      return (item) => !operand(item);
    }
    case 'compare':
      return (item) => matchesComparison(node, item);
  }
}

/**
 * Returns the operands of a chain of `kind` nodes, left to right: `a OR (b OR c) OR d` gives
 * a, b, c and d. It walks the tree with an explicit stack, because the parser nests a chain
 * of n terms n levels deep.
 */
function chainOperands(node: FilterNode, kind: 'and' | 'or'): FilterNode[] {
  const operands: FilterNode[] = [];
  const pending: FilterNode[] = [node];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    if (current.kind === kind) {
      pending.push(current.right, current.left);
    } else {
      operands.push(current);
    }
  }
  return operands;
}

/** Returns whether `node` tests a string field for equality with a non-null value, which a set can check. */
function isStringEquality(node: FilterNode): node is Comparison & { readonly value: string } {
  return (
    node.kind === 'compare' &&
    node.fieldKind === 'string' &&
    (node.operator === ':' || node.operator === '=') &&
    node.value !== null
  );
}

function compileOr(operands: readonly FilterNode[]): FilterPredicate {
  const valuesByField = new Map<string, Set<string>>();
  const others: FilterPredicate[] = [];
  for (const operand of operands) {
    if (isStringEquality(operand)) {
      const values = valuesByField.get(operand.field) ?? new Set<string>();
      values.add(operand.value);
      valuesByField.set(operand.field, values);
    } else {
      others.push(compileFilter(operand));
    }
  }
  const predicates: FilterPredicate[] = [...valuesByField].map(([field, values]) => (item) => {
    const actual = item[field];
    return typeof actual === 'string' && values.has(actual);
  });
  predicates.push(...others);
  return (item) => predicates.some((predicate) => predicate(item));
}

function matchesComparison(node: Comparison, item: Readonly<Record<string, unknown>>): boolean {
  const actual = item[node.field];
  if (node.value === null) {
    const isNull = actual === null || actual === undefined;
    return node.operator === ':' || node.operator === '=' ? isNull : false;
  }
  const order = compareValues(actual, node.value, node.fieldKind);
  if (order === undefined) return false;
  switch (node.operator) {
    case ':':
    case '=':
      return order === 0;
    case '>':
      return order > 0;
    case '<':
      return order < 0;
    case '>=':
      return order >= 0;
    case '<=':
      return order <= 0;
  }
}

/**
 * Returns the values that the string field `field` must equal for an item to match, or
 * undefined when the filter does not limit `field` to a finite set. For example
 * `(id:a OR id:b) AND status_code:failed` gives {a, b} for `id`. A list endpoint can look up
 * those items instead of testing every item; it must still apply the whole filter to them.
 */
export function equalityCandidates(node: FilterNode, field: string): ReadonlySet<string> | undefined {
  switch (node.kind) {
    case 'or': {
      // Every term must limit the field, else an item can match through the unlimited term.
      const union = new Set<string>();
      for (const operand of chainOperands(node, 'or')) {
        const values = equalityCandidates(operand, field);
        if (values === undefined) return undefined;
        for (const value of values) union.add(value);
      }
      return union;
    }
    case 'and': {
      // One limiting term is enough; several limit the field to their intersection.
      let intersection: Set<string> | undefined;
      for (const operand of chainOperands(node, 'and')) {
        const values = equalityCandidates(operand, field);
        if (values === undefined) continue;
        intersection =
          intersection === undefined
            ? new Set(values)
            : new Set([...intersection].filter((value) => values.has(value)));
      }
      return intersection;
    }
    case 'not':
      return undefined;
    case 'compare':
      return isStringEquality(node) && node.field === field ? new Set([node.value]) : undefined;
  }
}
