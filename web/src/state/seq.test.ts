import { describe, expect, it } from 'vitest';
import { SeqTracker } from './seq';

const ev = (seq: number, type = 'message.new') => ({ type, seq, data: {} });

describe('push event ordering', () => {
  it('applies events in order and remembers the last seq for since=', () => {
    const t = new SeqTracker();
    expect(t.since()).toBeNull();
    expect(t.accept(ev(4))).toBe('apply');
    expect(t.accept(ev(5))).toBe('apply');
    expect(t.since()).toBe(5);
  });

  it('drops repeats a resumed backlog sends again', () => {
    const t = new SeqTracker();
    t.accept(ev(1));
    t.accept(ev(2));
    expect(t.accept(ev(2))).toBe('duplicate');
    expect(t.accept(ev(1))).toBe('duplicate');
    expect(t.accept(ev(3))).toBe('apply');
  });

  it('asks for a refetch on resync and continues from its seq', () => {
    const t = new SeqTracker();
    t.accept(ev(41));
    expect(t.accept(ev(0, 'resync'))).toBe('resync');
    expect(t.since()).toBe(0);
    // After a server restart the numbering starts again.
    expect(t.accept(ev(1))).toBe('apply');
  });

  it('treats a hole in the numbering as lost events', () => {
    const t = new SeqTracker();
    t.accept(ev(1));
    expect(t.accept(ev(3))).toBe('resync');
    expect(t.accept(ev(4))).toBe('apply');
  });
});
