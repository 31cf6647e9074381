import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentView, Message } from '../api/types';

// The desk talks to the API through `api`; here a history of `total`
// messages answers it, newest first, 100 a page, the cursor the last id.
const history = { total: 0, calls: 0 };
vi.mock('../api/client', () => ({
  setToken: () => undefined,
  must: <T>(p: Promise<T>) => p,
  api: {
    GET: async (path: string, init: { params: { path: { id: string; peer: number }; query: { limit: number; cursor?: string } } }) => {
      if (path === '/api/tags') return { items: [] };
      history.calls++;
      const { path: where, query } = init.params;
      const top = query.cursor ? Number(query.cursor) - 1 : history.total;
      const items = [];
      for (let id = top; id > Math.max(0, top - query.limit); id--) items.push(msg(where.id, where.peer, id));
      const last = items[items.length - 1];
      return { items, next_cursor: last && last.id > 1 ? String(last.id) : null };
    },
    PUT: async (_path: string, init: { params: { path: { account: string; peer: number; id: number } }; body: { tags: string[] } }) => ({
      ...msg(init.params.path.account, init.params.path.peer, init.params.path.id),
      tags: init.body.tags,
    }),
  },
}));

const { Desk } = await import('./desk');

function msg(account_id: string, peer: number, id: number): Message {
  return { account_id, peer, id, outgoing: false, date: '2026-01-01T12:00:00Z', text: `m${id}`, entities: {}, deleted: false, tags: [] } as Message;
}

const me = { id: 'usr_1', username: 'amy', role: 'agent' } as AgentView;

describe('opening a dialog at a message found by search', () => {
  beforeEach(() => {
    history.calls = 0;
  });

  it('loads older pages until the message is there and marks it to scroll to', async () => {
    history.total = 1000;
    const desk = new Desk(me, 'tok');
    expect(await desk.openAt('acc_1', 7, 250)).toBe(true);
    const d = desk.get().dialog!;
    expect(d.focus).toBe(250);
    expect(d.messages.some((m) => m.id === 250)).toBe(true);
    expect(history.calls).toBe(8);
  });

  it('stops after a bounded number of pages, leaving the dialog open without a mark', async () => {
    history.total = 100_000;
    const desk = new Desk(me, 'tok');
    expect(await desk.openAt('acc_1', 7, 5)).toBe(false);
    expect(history.calls).toBeLessThanOrEqual(21);
    expect(desk.get().dialog).toMatchObject({ account_id: 'acc_1', peer: 7, focus: null });
  });

  it('moves the mark within an open dialog without loading it again', async () => {
    history.total = 300;
    const desk = new Desk(me, 'tok');
    await desk.openAt('acc_1', 7, 290);
    const calls = history.calls;
    expect(await desk.openAt('acc_1', 7, 150)).toBe(true);
    expect(desk.get().dialog!.focus).toBe(150);
    expect(history.calls - calls).toBe(1);
  });
});

describe('message tags in the open dialog', () => {
  it('shows what the server saved and what another agent pushed', async () => {
    history.total = 10;
    const desk = new Desk(me, 'tok');
    await desk.select('acc_1', 7);
    await desk.setMessageTags('acc_1', 7, 9, ['tag_a']);
    expect(desk.get().dialog!.messages.find((m) => m.id === 9)!.tags).toEqual(['tag_a']);
    desk.apply({ type: 'message.tags', seq: 1, data: { account_id: 'acc_1', peer: 7, id: 10, tags: ['tag_b'] } });
    expect(desk.get().dialog!.messages.find((m) => m.id === 10)!.tags).toEqual(['tag_b']);
  });
});
