import { describe, expect, it } from 'vitest';
import { formatBytes } from './ArchivePage';

describe('formatBytes', () => {
  it('keeps small sizes in bytes and larger ones in the unit that fits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GB');
    expect(formatBytes(3 * 1024 ** 5)).toBe('3072.0 TB');
  });
});
