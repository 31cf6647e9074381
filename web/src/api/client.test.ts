import { describe, expect, it } from 'vitest';
import { describeError, telegramReason } from './client';

describe('errors shown to people', () => {
  it('says Telegram’s refusals of a send in words, keeping the code', () => {
    expect(telegramReason('rpc error 420: FLOOD_WAIT_31')).toBe('Telegram asks this account to wait 31 s before sending again (FLOOD_WAIT_31)');
    expect(telegramReason('rpc error 400 PEER_FLOOD')).toContain('Telegram limits this account');
    expect(telegramReason('something new')).toBe('something new');
    expect(telegramReason(null)).toBe('no reason given');
  });

  it('turns API error bodies into sentences', () => {
    expect(describeError({ error: { code: 'phone_code_invalid', message: 'PHONE_CODE_INVALID' } }, 400).message).toBe(
      'Telegram says the code is wrong. Check it and try again.',
    );
    expect(describeError({ error: { code: 'flood_wait', message: 'wait', retry_after_s: 60 } }, 429).message).toBe(
      'Telegram asks to wait before trying again (60 s).',
    );
    expect(describeError({ error: { code: 'conflict', message: 'phone exists' } }, 409).message).toBe('phone exists');
    expect(describeError({ error: { code: 'telegram_refused', message: 'PHONE_NUMBER_BANNED' } }, 400).message).toBe(
      'Telegram refused: PHONE_NUMBER_BANNED',
    );
    expect(describeError(undefined, 502).message).toBe('The server answered 502.');
  });
});

describe('the session on 401', () => {
  it('ends on a 401 for the current token, not for one already replaced', async () => {
    const { api, setToken, setUnauthorizedHandler } = await import('./client');
    let signedOut = 0;
    setUnauthorizedHandler(() => signedOut++);
    const seen: string[] = [];
    const fetch401 = async (request: Request) => {
      seen.push(request.headers.get('authorization') ?? '');
      return new Response('{"error":{"code":"unauthorized","message":"revoked"}}', { status: 401 });
    };
    setToken('old');
    const baseUrl = 'http://desk.test';
    const stale = api.GET('/api/me', { baseUrl, fetch: async (r) => { setToken('new'); return fetch401(r); } });
    await stale;
    expect(signedOut).toBe(0);
    await api.GET('/api/me', { baseUrl, fetch: fetch401 });
    expect(signedOut).toBe(1);
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
    setToken(null);
  });
});
