// One conversation: header, history with scroll back, pending sends, composer;
// message tags, and the message a search hit opened scrolled to.
import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { api, must, telegramReason } from '../api/client';
import type { Message } from '../api/types';
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';
import { dialogKey } from '../state/inbox';
import { Avatar } from './Avatar';
import { Composer, type Draft } from './Composer';
import { clock, dayLabel } from './format';
import { Media } from './Media';
import { TagChip, TagPicker } from './Tags';

export function DialogPane({ desk }: { desk: Desk }) {
  const snap = useDesk(desk);
  const d = snap.dialog!;
  const view = snap.inbox.byKey.get(dialogKey(d));
  const [draft, setDraft] = useState<Draft>({ mode: 'new' });
  const [error, setError] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ height: number; top: number; stick: boolean }>({ height: 0, top: 0, stick: true });
  const byId = useMemo(() => new Map(d.messages.map((m) => [m.id, m])), [d.messages]);
  const tagById = useMemo(() => new Map(snap.tags.map((t) => [t.id, t])), [snap.tags]);
  const [tagging, setTagging] = useState<number | null>(null);
  const stopTagging = useCallback(() => setTagging(null), []);
  function openTags(id: number) {
    setTagging(id);
    // The dictionary may have grown since it was loaded (tags are made on another screen).
    desk.loadTags().catch(() => undefined);
  }
  /** The search hit already scrolled to (scrolling once, not on every new message). */
  const focused = useRef<number | null>(null);

  // Keep the view where the person left it: at the bottom for new messages,
  // steady when an older page lands above.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const a = anchor.current;
    if (a.stick) el.scrollTop = el.scrollHeight;
    else if (el.scrollHeight !== a.height) el.scrollTop = a.top + (el.scrollHeight - a.height);
    // A short history does not scroll: fetch older pages until it does.
    if (d.hasOlder && el.scrollHeight <= el.clientHeight + 300) desk.loadOlder().catch((e) => setError(e.message));
  }, [d.messages, d.pending, d.hasOlder, desk]);

  // A message opened from a search: centred once it is loaded, and kept there (not stuck to the bottom).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (d.focus === null) focused.current = null;
    if (!el || d.focus === null || focused.current === d.focus) return;
    const target = el.querySelector<HTMLElement>(`[data-testid=message][data-id="${d.focus}"]`);
    if (!target) return;
    target.scrollIntoView({ block: 'center' });
    focused.current = d.focus;
    anchor.current = { height: el.scrollHeight, top: el.scrollTop, stick: false };
  }, [d.focus, d.messages]);

  function onScroll() {
    const el = scroller.current!;
    anchor.current = {
      height: el.scrollHeight,
      top: el.scrollTop,
      stick: el.scrollHeight - el.scrollTop - el.clientHeight < 40,
    };
    if (el.scrollTop < 300 && d.hasOlder) desk.loadOlder().catch((e) => setError((e as Error).message));
  }

  // Opening a dialog reads it.
  const unread = view?.unread_count ?? 0;
  useEffect(() => {
    if (unread > 0) desk.markRead(d.account_id, d.peer).catch((e) => setError((e as Error).message));
  }, [unread, d.account_id, d.peer, desk]);

  async function remove(m: Message) {
    if (!confirm('Delete this message for everyone?')) return;
    try {
      await must(
        api.DELETE('/api/accounts/{id}/dialogs/{peer}/messages/{message}', {
          params: { path: { id: d.account_id, peer: d.peer, message: m.id } },
        }),
      );
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const title = view?.title ?? String(d.peer);
  let lastDay = '';
  return (
    <section className="dialog" aria-label="Conversation">
      <header className="dialog-head">
        <Avatar seed={d.peer} title={title} />
        <div className="who">
          <div className="title ellipsis" data-testid="dialog-title">
            {title}
          </div>
          <div className="muted ellipsis" style={{ fontSize: 12 }}>
            via {view?.account_label ?? d.account_id}
          </div>
        </div>
        <button
          className="btn small"
          onClick={() => desk.setPinned(d.account_id, d.peer, !view?.pinned).catch((e) => setError(e.message))}
          data-testid="pin"
        >
          {view?.pinned ? 'Unpin' : 'Pin'}
        </button>
        <button className="btn small ghost" onClick={() => desk.closeDialog()} title="Close (Esc)">
          ✕
        </button>
      </header>
      {error && (
        <div className="error" style={{ margin: 8 }} role="alert">
          {error}{' '}
          <button className="btn small ghost" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      )}
      <div className="history" ref={scroller} onScroll={onScroll} data-testid="history">
        {d.hasOlder && <div className="day">Loading older messages…</div>}
        {d.messages.map((m) => {
          const day = dayLabel(m.date);
          const showDay = day !== lastDay;
          lastDay = day;
          const quoted = m.reply_to != null ? byId.get(m.reply_to) : undefined;
          return (
            <Fragment key={m.id}>
              {showDay && <div className="day">{day}</div>}
              <div
                className={`msg ${m.outgoing ? 'out' : ''} ${m.deleted ? 'deleted' : ''} ${d.focus === m.id ? 'focused' : ''}`}
                data-testid="message"
                data-id={m.id}
              >
                {!m.outgoing && m.sender_name && d.peer < 0 && <div className="sender">{m.sender_name}</div>}
                {m.reply_to != null && (
                  <div className="quote ellipsis">{quoted ? quoted.text || '(file)' : `Reply to #${m.reply_to}`}</div>
                )}
                {m.media && <Media message={m} />}
                {m.text && <div className="text">{m.text}</div>}
                {m.tags.length > 0 && (
                  <div className="chips msg-tags">
                    {m.tags.map((id) => (
                      <TagChip key={id} tag={tagById.get(id) ?? { id, name: '…' }} />
                    ))}
                  </div>
                )}
                <div className="meta">
                  {m.deleted && <span>deleted</span>}
                  {m.edited_at && <span title={`edited ${new Date(m.edited_at).toLocaleString()}`}>edited</span>}
                  <span>{clock(m.date)}</span>
                  {m.outgoing && <span title="sent">✓</span>}
                </div>
                {!m.deleted && (
                  <div className="actions">
                    <button className="btn small" onClick={() => setDraft({ mode: 'reply', to: m })}>
                      Reply
                    </button>
                    <button className="btn small" onClick={() => openTags(m.id)} aria-haspopup="dialog">
                      Tags
                    </button>
                    {m.outgoing && (
                      <>
                        <button className="btn small" onClick={() => setDraft({ mode: 'edit', message: m })}>
                          Edit
                        </button>
                        <button className="btn small danger" onClick={() => remove(m)}>
                          Delete
                        </button>
                      </>
                    )}
                  </div>
                )}
                {tagging === m.id && (
                  <TagPicker
                    tags={snap.tags}
                    chosen={m.tags}
                    onSave={(tags) => desk.setMessageTags(d.account_id, d.peer, m.id, tags)}
                    onError={setError}
                    onClose={stopTagging}
                  />
                )}
              </div>
            </Fragment>
          );
        })}
        {d.pending.map((p) => (
          <div key={p.send_id} className={`msg out ${p.status === 'failed' ? 'failed' : ''}`} data-testid="pending">
            {p.files.length > 0 && <div className="file">📎 {p.files.length} file(s)</div>}
            {p.text && <div className="text">{p.text}</div>}
            <div className="meta" data-testid="send-status">
              {p.status === 'queued' && <span>🕓 sending…</span>}
              {p.status === 'sent' && <span>✓ sent</span>}
              {p.status === 'cancelled' && <span>cancelled</span>}
              {p.status === 'failed' && <span className="status-failed">⚠ not sent: {telegramReason(p.error)}</span>}
            </div>
          </div>
        ))}
      </div>
      <Composer desk={desk} draft={draft} onDraft={setDraft} onError={setError} />
    </section>
  );
}
