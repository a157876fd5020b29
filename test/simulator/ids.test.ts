import { describe, expect, it } from 'vitest';
import { stableUuid, UuidV7Generator } from '../../src/testing/ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('UuidV7Generator', () => {
  it('puts the timestamp in the first 48 bits', () => {
    const timestamp = Date.UTC(2026, 4, 6, 10, 0, 0, 123);
    const id = new UuidV7Generator().next(timestamp);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(timestamp);
  });

  it('increases within one millisecond', () => {
    const generator = new UuidV7Generator();
    const ids = Array.from({ length: 5000 }, () => generator.next(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    ids.forEach((id) => expect(id).toMatch(UUID_V7));
  });

  it('keeps the order when time goes back', () => {
    const generator = new UuidV7Generator();
    const later = generator.next(2_000);
    const earlier = generator.next(1_000);
    expect(earlier > later).toBe(true);
  });
});

describe('stableUuid', () => {
  it('returns the same version 5 UUID for the same name', () => {
    const id = stableUuid('model:openai/gpt-image-1.5');
    expect(id).toBe(stableUuid('model:openai/gpt-image-1.5'));
    expect(id).not.toBe(stableUuid('model:openai/gpt-image-2'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
