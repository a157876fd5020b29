import * as t from 'io-ts';

/** `codec`, `null` or absent: the documented API marks every response field nullable. */
export function nullable<C extends t.Mixed>(codec: C) {
  return t.union([codec, t.null, t.undefined], `${codec.name} | null`);
}

/** A date-time string that `Date.parse` accepts; both `...Z` and `...+00:00` forms occur. */
export const Timestamp = new t.Type<string, string, unknown>(
  'timestamp',
  (u): u is string => typeof u === 'string' && !Number.isNaN(Date.parse(u)),
  (u, context) => (typeof u === 'string' && !Number.isNaN(Date.parse(u)) ? t.success(u) : t.failure(u, context)),
  (a) => a,
);

/**
 * A money amount. The API sends decimal strings; a number is accepted and turned into its
 * decimal string so that callers only ever see strings.
 */
export const Decimal = new t.Type<string, string, unknown>(
  'decimal string',
  (u): u is string => typeof u === 'string',
  (u, context) => {
    if (typeof u === 'string' && /^[+-]?\d*\.?\d*$/.test(u) && /\d/.test(u)) return t.success(u);
    if (typeof u === 'number' && Number.isFinite(u)) return t.success(String(u));
    return t.failure(u, context);
  },
  (a) => a,
);

/** Any JSON object, kept as is. */
export const JsonObject = t.UnknownRecord;
