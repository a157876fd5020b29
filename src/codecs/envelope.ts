import * as t from 'io-ts';

import { nullable } from './primitives.js';

/** The body of every documented API error. */
export const ErrorEnvelopeCodec = t.intersection(
  [t.type({ code: t.string, message: t.string }), t.partial({ errors: nullable(t.array(t.unknown)) })],
  'error envelope',
);

export type ErrorEnvelope = t.TypeOf<typeof ErrorEnvelopeCodec>;

/**
 * A page of a list endpoint. The API reference names the cursors `next` and `previous`; a
 * concept page names them `next_pq` and `prev_pq`. Both are read.
 */
export function PageCodec<C extends t.Mixed>(item: C) {
  return t.intersection(
    [
      t.type({ items: t.array(item) }),
      t.partial({
        first: nullable(t.string),
        next: nullable(t.string),
        previous: nullable(t.string),
        next_pq: nullable(t.string),
        prev_pq: nullable(t.string),
      }),
    ],
    `page of ${item.name}`,
  );
}

export interface Page<T> {
  readonly items: T[];
  readonly first?: string | null | undefined;
  readonly next?: string | null | undefined;
  readonly previous?: string | null | undefined;
  readonly next_pq?: string | null | undefined;
  readonly prev_pq?: string | null | undefined;
}

/** Returns the cursor for the next page, from either field name, or undefined at the last page. */
export function nextCursor(page: Page<unknown>): string | undefined {
  return page.next ?? page.next_pq ?? undefined;
}

/** One entry of `GET /v1/runs/statuses`; the shape is undocumented, so every field may be absent. */
export const StatusInfoCodec = t.partial({ code: nullable(t.string), is_terminal: nullable(t.boolean) }, 'status info');
export const StatusListCodec = t.type({ items: t.array(StatusInfoCodec) }, 'status list');
export type StatusInfo = t.TypeOf<typeof StatusInfoCodec>;
