import { describe, expect, it } from 'vitest';
import type { DialogView } from '../api/types';
import { compareDialogs, emptyInbox, patchDialog, upsertDialogs, visibleKeys } from './inbox';

function dialog(peer: number, minute: number | null, extra: Partial<DialogView> = {}): DialogView {
  return {
    account_id: 'acc_1',
    account_label: 'Sales 1',
    peer,
    kind: 'user',
    title: `Customer ${peer}`,
    last_message_at: minute === null ? null : new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString(),
    last_message_id: minute,
    preview: '',
    unread_count: 0,
    pinned: false,
    ...extra,
  } as DialogView;
}

const peers = (state: { order: readonly string[] }) => state.order.map((k) => Number(k.split(':')[1]));

describe('inbox order', () => {
  it('puts pinned dialogs first, then the newest message first, dialogs without messages last', () => {
    const state = upsertDialogs(emptyInbox, [dialog(1, 5), dialog(2, null), dialog(3, 9), dialog(4, 1, { pinned: true })], 'page');
    expect(peers(state)).toEqual([4, 3, 1, 2]);
  });

  it('moves a dialog to the top when a pushed update says it has a newer message', () => {
    let state = upsertDialogs(emptyInbox, [dialog(1, 5), dialog(2, 4), dialog(3, 3)], 'page');
    state = upsertDialogs(state, [dialog(3, 10, { unread_count: 1 })], 'event');
    expect(peers(state)).toEqual([3, 1, 2]);
    expect(state.byKey.get('acc_1:3')!.unread_count).toBe(1);
  });

  it('keeps the viewer’s pin when a pushed update (which carries no pin) arrives', () => {
    let state = upsertDialogs(emptyInbox, [dialog(1, 5, { pinned: true }), dialog(2, 6)], 'page');
    state = upsertDialogs(state, [dialog(1, 7, { pinned: false })], 'event');
    expect(state.byKey.get('acc_1:1')!.pinned).toBe(true);
    expect(peers(state)).toEqual([1, 2]);
  });

  it('does not let an older REST page undo a newer pushed update', () => {
    let state = upsertDialogs(emptyInbox, [dialog(1, 9, { preview: 'new' })], 'event');
    state = upsertDialogs(state, [dialog(1, 5, { preview: 'old' })], 'page');
    expect(state.byKey.get('acc_1:1')!.preview).toBe('new');
    expect(state.order).toHaveLength(1);
  });

  it('holds each dialog once however often it is updated', () => {
    let state = emptyInbox;
    for (let i = 0; i < 50; i++) state = upsertDialogs(state, [dialog(i % 5, i)], 'event');
    expect(state.order).toHaveLength(5);
    expect(peers(state)).toEqual([4, 3, 2, 1, 0]);
  });

  it('moves a dialog when it is pinned and back when unpinned', () => {
    let state = upsertDialogs(emptyInbox, [dialog(1, 5), dialog(2, 6)], 'page');
    state = patchDialog(state, 'acc_1:1', { pinned: true });
    expect(peers(state)).toEqual([1, 2]);
    state = patchDialog(state, 'acc_1:1', { pinned: false });
    expect(peers(state)).toEqual([2, 1]);
  });

  it('sorts the same way as a full sort after many random updates', () => {
    let state = emptyInbox;
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 500; i++) {
      state = upsertDialogs(state, [dialog(Math.floor(rand() * 60), Math.floor(rand() * 1000), { pinned: rand() < 0.1 })], rand() < 0.5 ? 'event' : 'page');
    }
    const sorted = [...state.byKey.values()].sort(compareDialogs).map((d) => `${d.account_id}:${d.peer}`);
    expect(state.order).toEqual(sorted);
  });

  it('merges large pages into a large inbox in order, keeping newer pushed state', () => {
    const page = (from: number) => Array.from({ length: 500 }, (_, i) => dialog(from + i, (from + i) % 997));
    let state = upsertDialogs(emptyInbox, page(0), 'page');
    state = upsertDialogs(state, [dialog(3, 5000, { preview: 'pushed' })], 'event');
    state = upsertDialogs(state, page(0), 'page');
    state = upsertDialogs(state, page(500), 'page');
    expect(state.order).toHaveLength(1000);
    expect(state.byKey.get('acc_1:3')!.preview).toBe('pushed');
    const sorted = [...state.byKey.values()].sort(compareDialogs).map((d) => `${d.account_id}:${d.peer}`);
    expect(state.order).toEqual(sorted);
  });

  it('filters by account set and unread, keeping the order', () => {
    const state = upsertDialogs(
      emptyInbox,
      [dialog(1, 1, { unread_count: 2 }), dialog(2, 2, { account_id: 'acc_2' }), dialog(3, 3, { unread_count: 1, account_id: 'acc_2' })],
      'page',
    );
    expect(visibleKeys(state, { accounts: new Set(['acc_2']), unreadOnly: false })).toEqual(['acc_2:3', 'acc_2:2']);
    expect(visibleKeys(state, { accounts: null, unreadOnly: true })).toEqual(['acc_2:3', 'acc_1:1']);
  });
});
