import { describe, expect, it } from 'vitest';
import { backoffMs, eventsOf, wsUrl } from './live';

describe('the push connection', () => {
  it('resumes with since= once it has seen an event', () => {
    expect(wsUrl('http://127.0.0.1:8080', 'tok', null)).toBe('ws://127.0.0.1:8080/ws?token=tok');
    expect(wsUrl('https://desk.example', 'a b', 12)).toBe('wss://desk.example/ws?token=a+b&since=12');
  });

  it('reads one event or an array of them per message, in order, and ignores the rest', () => {
    expect(eventsOf('{"type":"message.new","seq":3,"data":{}}')).toEqual([{ type: 'message.new', seq: 3, data: {} }]);
    const batch = '[{"type":"resync","seq":41},{"type":"message.new","seq":42,"data":{"id":1}}]';
    expect(eventsOf(batch).map((e) => e.seq)).toEqual([41, 42]);
    expect(eventsOf('not json')).toEqual([]);
    expect(eventsOf('[1,{"type":"x"},null]')).toEqual([]);
  });

  it('backs off from half a second to at most about eight', () => {
    expect(backoffMs(0, () => 0.5)).toBe(500);
    expect(backoffMs(3, () => 0.5)).toBe(4000);
    expect(backoffMs(20, () => 1)).toBe(10000);
    expect(backoffMs(20, () => 0)).toBe(6000);
  });
});
