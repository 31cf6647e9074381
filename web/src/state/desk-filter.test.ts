import { describe, expect, it, vi } from 'vitest';
import type { AgentView, DialogView } from '../api/types';

// `GET /api/inbox` answers from 30 dialogs (peer 1 newest), every third
// unread, 10 a page whatever the limit asked; the cursor is the last peer of the page.
const calls: Record<string, unknown>[] = [];
vi.mock('../api/client', () => ({
  setToken: () => undefined,
  must: <T>(p: Promise<T>) => p,
  api: {
    GET: async (path: string, init: { params: { query: { limit: number; cursor?: string; unread?: boolean } } }) => {
      if (path === '/api/tags') return { items: [] };
      const q = init.params.query;
      calls.push(q);
      let all = Array.from({ length: 30 }, (_, i) => dialog(i + 1));
      if (q.unread) all = all.filter((d) => d.unread_count > 0);
      const from = q.cursor ? all.findIndex((d) => d.peer === Number(q.cursor)) + 1 : 0;
      const items = all.slice(from, from + 10);
      const more = from + 10 < all.length;
      return { items, next_cursor: more ? String(items[items.length - 1].peer) : null };
    },
  },
}));

const { Desk, listingKey } = await import('./desk');

function dialog(peer: number): DialogView {
  return {
    account_id: 'acc_1',
    peer,
    kind: 'user',
    title: `d${peer}`,
    last_message_at: new Date(Date.UTC(2026, 0, 1, 12, 0, 60 - peer)).toISOString(),
    preview: '',
    unread_count: peer % 3 === 0 ? 1 : 0,
    pinned: false,
    account_label: 'a',
  } as DialogView;
}

const me = { id: 'usr_1', username: 'amy', role: 'agent' } as AgentView;

describe('server-side inbox filters', () => {
  it('names each listing by its filters', () => {
    expect(listingKey({})).toBe('');
    expect(listingKey({ unread: false, account: '' })).toBe('');
    expect(listingKey({ unread: true, tag: 'tag_1' })).toBe('tag=tag_1&unread');
  });

  it('pages the filtered listing from the server and goes back to the whole inbox where it stopped', async () => {
    calls.length = 0;
    const desk = new Desk(me, 'tok');
    await desk.loadInbox(true);
    expect(desk.get().inbox.order.length).toBe(10);
    expect(desk.get().inboxCursor).toBe('10');

    desk.setInboxFilter({ unread: true });
    await vi.waitFor(() => expect(calls.length).toBe(2));
    await vi.waitFor(() => expect(desk.get().inboxLoading).toBe(false));
    expect(calls[1]).toMatchObject({ unread: true });
    expect(calls[1].cursor).toBeUndefined();
    // The ten unread dialogs, though only three were among the first page.
    const unread = desk.get().inbox.order.filter((k) => desk.get().inbox.byKey.get(k)!.unread_count > 0);
    expect(unread.length).toBe(10);
    expect(desk.get().inboxCursor).toBeNull();

    desk.setInboxFilter({});
    expect(desk.get().inboxCursor).toBe('10');
    await desk.loadInbox();
    expect(calls[2]).toMatchObject({ cursor: '10' });
    // Peers 11 to 20 join the 17 held (12, 15 and 18 came with the unread listing).
    expect(desk.get().inbox.order.length).toBe(24);
  });
});
