import { describe, expect, it } from 'vitest';
import {
  compileFilter,
  equalityCandidates,
  FilterSyntaxError,
  matchesFilter,
  parseFilter,
  type FilterFieldKind,
} from '../../src/testing/filter.js';

const FIELDS: Record<string, FilterFieldKind> = {
  id: 'string',
  status_code: 'string',
  created_at: 'date',
  duration_ms: 'number',
  has_logs: 'boolean',
};

const item = {
  id: 'a',
  status_code: 'succeeded',
  created_at: '2026-04-02T10:00:00.000Z',
  duration_ms: 1200,
  has_logs: true,
};

function matches(filter: string): boolean {
  return matchesFilter(parseFilter(filter, FIELDS), item);
}

function syntaxError(filter: string): FilterSyntaxError {
  try {
    parseFilter(filter, FIELDS);
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error(`"${filter}" parsed without error`);
}

describe('filter evaluation', () => {
  const cases: [string, boolean][] = [
    ['status_code:succeeded', true],
    ['status_code=succeeded', true],
    ['status_code = succeeded', true],
    ['status_code:Succeeded', false],
    ['id:b OR id:a', true],
    ['id:b AND id:a', false],
    ['id:b AND id:c OR id:a', true],
    ['id:a OR id:b AND id:c', true],
    ['(id:a OR id:b) AND id:c', false],
    ['NOT id:b', true],
    ['NOT (id:a OR id:b)', false],
    ['created_at>2026-04-01', true],
    ['created_at>2026-04-02T10:00:00Z', false],
    ['created_at>=2026-04-02T10:00:00Z', true],
    ['created_at<2026-04-02T10:00:00.001Z', true],
    ['duration_ms>1000', true],
    ['duration_ms<=1199', false],
    ['has_logs:true', true],
    ['has_logs:false', false],
    ['id:"a"', true],
    ['id:null', false],
    ['status_code>running', true],
    ['id:x OR id:y OR id:a', true],
    ['id:x OR id:y OR id:z', false],
    ['id:x OR status_code:succeeded OR id:y', true],
    ['id:x OR id:y OR id:null', false],
    ['(id:x OR id:a) AND (status_code:failed OR status_code:succeeded)', true],
    ['id:x OR (id:y OR (id:z OR id:a))', true],
    ['id>b OR id:x', false],
    ['id:a AND status_code:succeeded AND has_logs:true AND duration_ms>1000', true],
    ['id:a AND status_code:succeeded AND has_logs:false', false],
  ];
  it.each(cases)('%s is %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it('matches null values with null', () => {
    const node = parseFilter('id:null', FIELDS);
    expect(matchesFilter(node, { ...item, id: null })).toBe(true);
    expect(matchesFilter(node, item)).toBe(false);
  });

  it('reads escapes in quoted values', () => {
    const node = parseFilter('id:"say \\"hi\\" (now)"', FIELDS);
    expect(matchesFilter(node, { ...item, id: 'say "hi" (now)' })).toBe(true);
  });
});

describe('filter syntax errors', () => {
  it('names an unexpected token', () => {
    const error = syntaxError('id:a AMD id:b');
    expect(error.token).toBe('AMD');
    expect(error.position).toBe(5);
    expect(error.message).toContain('"AMD"');
  });

  it('names an unknown field', () => {
    const error = syntaxError('colour:red');
    expect(error.token).toBe('colour:red');
    expect(error.message).toContain('unknown field');
  });

  it('rejects lower-case keywords', () => {
    expect(syntaxError('id:a or id:b').token).toBe('or');
  });

  it('reports a missing value', () => {
    expect(syntaxError('id:').message).toContain('expected a value after id:');
  });

  it('reports a missing operator', () => {
    expect(syntaxError('id a').message).toContain('expected one of the operators');
  });

  it('reports an unclosed parenthesis', () => {
    expect(syntaxError('(id:a').message).toContain('closing parenthesis');
  });

  it('reports an unclosed quote', () => {
    expect(syntaxError('id:"a').message).toContain('closing double quote');
  });

  it('reports an invalid number', () => {
    expect(syntaxError('duration_ms>fast').token).toBe('fast');
  });
});

describe('long filters', () => {
  /** Far more terms than a call stack would allow as recursion depth. */
  const TERM_COUNT = 50_000;

  it('matches a long OR chain without recursion', () => {
    const ids = Array.from({ length: TERM_COUNT }, (_, index) => `id-${index}`);
    const node = parseFilter(ids.map((id) => `id:${id}`).join(' OR '), FIELDS);
    const matches = compileFilter(node);
    expect(matches({ ...item, id: 'id-0' })).toBe(true);
    expect(matches({ ...item, id: `id-${TERM_COUNT - 1}` })).toBe(true);
    expect(matches({ ...item, id: 'id-unknown' })).toBe(false);
    expect(matchesFilter(node, { ...item, id: 'id-7' })).toBe(true);
  });

  it('matches a long AND chain without recursion', () => {
    const node = parseFilter(Array.from({ length: TERM_COUNT }, () => 'status_code:succeeded').join(' AND '), FIELDS);
    expect(matchesFilter(node, item)).toBe(true);
    expect(matchesFilter(node, { ...item, status_code: 'failed' })).toBe(false);
  });

  it('lists the candidates of a long OR chain', () => {
    const ids = Array.from({ length: TERM_COUNT }, (_, index) => `id-${index}`);
    const node = parseFilter(ids.map((id) => `id:${id}`).join(' OR '), FIELDS);
    expect(equalityCandidates(node, 'id')?.size).toBe(TERM_COUNT);
  });
});

describe('equalityCandidates', () => {
  const cases: [string, string[] | undefined][] = [
    ['id:a', ['a']],
    ['id="a b"', ['a b']],
    ['id:a OR id:b', ['a', 'b']],
    ['(id:a OR id:b) AND status_code:failed', ['a', 'b']],
    ['status_code:failed AND (id:a OR id:b) AND (id:b OR id:c)', ['b']],
    ['id:a AND id:b', []],
    ['id:a OR status_code:failed', undefined],
    ['NOT id:a', undefined],
    ['id>a', undefined],
    ['id:null', undefined],
    ['status_code:failed', undefined],
  ];
  it.each(cases)('%s gives %j', (filter, expected) => {
    const candidates = equalityCandidates(parseFilter(filter, FIELDS), 'id');
    expect(candidates === undefined ? undefined : [...candidates].sort()).toEqual(expected);
  });
});
