import { describe, expect, it } from 'vitest';
import type { Message, SendRecord } from '../api/types';
import { addMessages, addOlderPage, addPending, applyDelete, applyEdit, applySendStatus, applyTags, hasOrExhausted, openDialog, type DialogState } from './dialog';

function msg(id: number, extra: Partial<Message> = {}): Message {
  return {
    account_id: 'acc_1',
    peer: 7,
    id,
    sender_id: 7,
    sender_name: 'Customer',
    outgoing: false,
    date: new Date(Date.UTC(2026, 0, 1, 12, id)).toISOString(),
    text: `m${id}`,
    entities: {},
    media: null,
    reply_to: null,
    edited_at: null,
    deleted: false,
    tags: [],
    ...extra,
  } as Message;
}

function send(status: SendRecord['status'], extra: Partial<SendRecord> = {}): SendRecord {
  return {
    id: 'snd_1',
    account_id: 'acc_1',
    peer: 7,
    text: 'hi',
    reply_to: null,
    files: [],
    status,
    error: null,
    message_id: null,
    batch_id: null,
    created_by: 'usr_1',
    created_at: '2026-01-01T12:00:00Z',
    updated_at: '2026-01-01T12:00:00Z',
    ...extra,
  } as SendRecord;
}

describe('an open dialog', () => {
  it('keeps messages by ascending id whatever order pages and events come in', () => {
    let d = openDialog('acc_1', 7);
    d = addOlderPage(d, [msg(9), msg(8)], 'c1');
    d = addMessages(d, [msg(10)]);
    d = addOlderPage(d, [msg(7), msg(6)], null);
    expect(d.messages.map((m) => m.id)).toEqual([6, 7, 8, 9, 10]);
    expect(d.hasOlder).toBe(false);
  });

  it('ignores messages of other dialogs and repeats', () => {
    let d = addMessages(openDialog('acc_1', 7), [msg(1)]);
    d = addMessages(d, [msg(1), msg(2, { peer: 8 }), msg(3, { account_id: 'acc_2' })]);
    expect(d.messages.map((m) => m.id)).toEqual([1]);
  });

  it('shows edits and keeps deleted messages marked', () => {
    let d = addMessages(openDialog('acc_1', 7), [msg(1), msg(2)]);
    d = applyEdit(d, { account_id: 'acc_1', peer: 7, id: 1, text: 'fixed', edited_at: '2026-01-01T13:00:00Z' });
    d = applyDelete(d, { account_id: 'acc_1', peer: 7, ids: [2] });
    expect(d.messages[0]).toMatchObject({ text: 'fixed', edited_at: '2026-01-01T13:00:00Z' });
    expect(d.messages[1].deleted).toBe(true);
  });

  it('follows a send from queued to failed with its reason', () => {
    let d = addPending(openDialog('acc_1', 7), {
      send_id: 'snd_1', text: 'hi', files: [], reply_to: null, status: 'queued', error: null, message_id: null,
    });
    d = applySendStatus(d, send('failed', { error: 'PEER_FLOOD' }));
    expect(d.pending[0]).toMatchObject({ status: 'failed', error: 'PEER_FLOOD' });
  });

  it('drops a pending send once its message is in the history, in either order', () => {
    const pending = { send_id: 'snd_1', text: 'hi', files: [], reply_to: null, status: 'queued' as const, error: null, message_id: null };
    let a = addPending(openDialog('acc_1', 7), pending);
    a = applySendStatus(a, send('sent', { message_id: 5 }));
    expect(a.pending).toHaveLength(1);
    a = addMessages(a, [msg(5, { outgoing: true })]);
    expect(a.pending).toHaveLength(0);

    let b = addPending(openDialog('acc_1', 7), pending);
    b = addMessages(b, [msg(5, { outgoing: true })]);
    b = applySendStatus(b, send('sent', { message_id: 5 }));
    expect(b.pending).toHaveLength(0);
  });

  it('shows the tags another agent set on a message (message.tags)', () => {
    let d = addMessages(openDialog('acc_1', 7), [msg(1), msg(2, { tags: ['tag_old'] })]);
    const before = d.messages[0];
    d = applyTags(d, { account_id: 'acc_1', peer: 7, id: 2, tags: ['tag_a', 'tag_b'] });
    expect(d.messages[1].tags).toEqual(['tag_a', 'tag_b']);
    expect(d.messages[0]).toBe(before);
    d = applyTags(d, { account_id: 'acc_1', peer: 7, id: 2, tags: [] });
    expect(d.messages[1].tags).toEqual([]);
  });

  it('ignores message.tags of other dialogs and of messages not loaded', () => {
    const d = addMessages(openDialog('acc_1', 7), [msg(1)]);
    expect(applyTags(d, { account_id: 'acc_1', peer: 8, id: 1, tags: ['t'] })).toBe(d);
    expect(applyTags(d, { account_id: 'acc_2', peer: 7, id: 1, tags: ['t'] })).toBe(d);
    expect(applyTags(d, { account_id: 'acc_1', peer: 7, id: 99, tags: ['t'] })).toBe(d);
  });

  it('keeps the message to scroll to as pages and events arrive', () => {
    let d: DialogState = { ...addOlderPage(openDialog('acc_1', 7), [msg(9), msg(8)], 'c1'), focus: 8 };
    d = addMessages(d, [msg(10)]);
    d = applyTags(d, { account_id: 'acc_1', peer: 7, id: 8, tags: ['t'] });
    expect(d.focus).toBe(8);
    expect(openDialog('acc_1', 7).focus).toBeNull();
  });

  it('says when seeking a message back through the history can stop', () => {
    let d = addOlderPage(openDialog('acc_1', 7), [msg(9), msg(8)], 'c1');
    expect(hasOrExhausted(d, 8)).toBe(true);
    expect(hasOrExhausted(d, 3)).toBe(false);
    d = addOlderPage(d, [msg(7)], null);
    expect(hasOrExhausted(d, 3)).toBe(true);
  });
});
