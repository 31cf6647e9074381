import { describe, expect, it } from 'vitest';
import { formatOf } from './ImportCard';

describe('the import file’s format', () => {
  it('is JSON Lines for .jsonl and .ndjson, CSV otherwise', () => {
    expect(formatOf('accounts.JSONL')).toBe('json_lines');
    expect(formatOf('accounts.ndjson')).toBe('json_lines');
    expect(formatOf('accounts.csv')).toBe('csv');
    expect(formatOf('accounts.jsonl.csv')).toBe('csv');
  });
});
