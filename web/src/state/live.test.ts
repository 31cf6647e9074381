import { describe, expect, it } from 'vitest';
import { backoffMs, wsUrl } from './live';

describe('the push connection', () => {
  it('resumes with since= once it has seen an event', () => {
    expect(wsUrl('http://127.0.0.1:8080', 'tok', null)).toBe('ws://127.0.0.1:8080/ws?token=tok');
    expect(wsUrl('https://desk.example', 'a b', 12)).toBe('wss://desk.example/ws?token=a+b&since=12');
  });

  it('backs off from half a second to at most about eight', () => {
    expect(backoffMs(0, () => 0.5)).toBe(500);
    expect(backoffMs(3, () => 0.5)).toBe(4000);
    expect(backoffMs(20, () => 1)).toBe(10000);
    expect(backoffMs(20, () => 0)).toBe(6000);
  });
});
