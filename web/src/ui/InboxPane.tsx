// The inbox: every dialog of my accounts, virtualized, with filters,
// keyboard navigation and selection for batch replies. Rows and filters are
// memoized so a scroll frame renders only the rows that move into view.
import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { DialogView } from '../api/types';
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';
import { dialogKey, visibleKeys } from '../state/inbox';
import { Avatar } from './Avatar';
import { shortTime } from './format';
import type { Catalog } from './useAccounts';

const ROW = 68;
/** Fetch the next inbox page when the view comes this many rows from the end. */
const PREFETCH_ROWS = 300;

interface Filters {
  account: string;
  group: string;
  tag: string;
  unreadOnly: boolean;
}

export function InboxPane({
  desk,
  catalog,
  hidden,
  onBatch,
}: {
  desk: Desk;
  catalog: Catalog;
  /** Hidden while a search shows instead; kept mounted so its filters, selection and scroll stay. */
  hidden: boolean;
  onBatch: (keys: string[]) => void;
}) {
  const snap = useDesk(desk);
  const [filters, setFilters] = useState<Filters>({ account: '', group: '', tag: '', unreadOnly: false });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | null>(null);

  const accounts = useMemo(() => {
    const { account, group, tag } = filters;
    if (!account && !group && !tag) return null;
    let list = catalog.accounts;
    if (account) list = list.filter((a) => a.id === account);
    if (group) list = list.filter((a) => a.groups.includes(group));
    if (tag) list = list.filter((a) => a.tags.some((t) => t.id === tag));
    return new Set(list.map((a) => a.id));
  }, [filters, catalog.accounts]);

  // The server lists what the filters keep, so paging reaches every match
  // (the held dialogs are narrowed the same way below, live events included).
  useEffect(() => {
    const { account, group, tag, unreadOnly } = filters;
    desk.setInboxFilter({
      account: account || undefined,
      group: group || undefined,
      tag: tag || undefined,
      unread: unreadOnly || undefined,
    });
  }, [filters, desk]);

  const keys = useMemo(
    () => visibleKeys(snap.inbox, { accounts, unreadOnly: filters.unreadOnly }),
    [snap.inbox, accounts, filters.unreadOnly],
  );
  const openKey = snap.dialog ? dialogKey(snap.dialog) : null;

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: keys.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 8,
  });

  // More pages before the end comes into view (or while a filter shows few).
  const items = virtual.getVirtualItems();
  const last = items.length ? items[items.length - 1].index : 0;
  useEffect(() => {
    if (snap.inboxCursor && !snap.inboxLoading && last >= keys.length - PREFETCH_ROWS) {
      desk.loadInbox().catch((e) => setError((e as Error).message));
    }
  }, [last, keys.length, snap.inboxCursor, snap.inboxLoading, desk]);

  const open = useCallback(
    (key: string) => {
      const d = desk.get().inbox.byKey.get(key);
      if (d) desk.select(d.account_id, d.peer).catch((e) => setError((e as Error).message));
    },
    [desk],
  );

  const toggle = useCallback((key: string) => {
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  }, []);

  function onKey(e: KeyboardEvent) {
    if (e.key === 'Escape') desk.closeDialog();
    if (e.key === 'Enter') {
      // Without preventDefault the Enter would also land in the composer as a new line.
      e.preventDefault();
      document.querySelector<HTMLElement>('[data-testid="composer"]')?.focus();
    }
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const at = openKey ? keys.indexOf(openKey) : -1;
    const next = Math.max(0, Math.min(keys.length - 1, at + (e.key === 'ArrowDown' ? 1 : -1)));
    if (keys[next] && next !== at) {
      open(keys[next]);
      virtual.scrollToIndex(next, { align: 'auto' });
    }
  }

  const unreadTotal = useMemo(() => {
    let n = 0;
    for (const d of snap.inbox.byKey.values()) n += d.unread_count > 0 ? 1 : 0;
    return n;
  }, [snap.inbox]);

  const shownError = error ?? snap.inboxError;
  return (
    <section className="inbox" aria-label="Inbox" hidden={hidden}>
      <div className="inbox-head">
        <div className="row" style={{ justifyContent: 'space-between' }}>
          <strong style={{ fontSize: 16 }}>Inbox</strong>
          <span className="muted" style={{ fontSize: 12 }} data-testid="inbox-count" data-count={keys.length}>
            {keys.length.toLocaleString()}
            {snap.inboxCursor ? '+' : ''} dialogs · {unreadTotal.toLocaleString()} unread
          </span>
        </div>
        <FilterBar catalog={catalog} filters={filters} onChange={setFilters} />
        <div className="row" style={{ justifyContent: 'space-between' }}>
          <label style={{ display: 'flex', gap: 6, alignItems: 'center', fontSize: 13 }}>
            <input
              type="checkbox"
              checked={filters.unreadOnly}
              onChange={(e) => setFilters({ ...filters, unreadOnly: e.target.checked })}
            />{' '}
            Unread only
          </label>
          {selected.size > 0 ? (
            <span className="row">
              <button className="btn small ghost" onClick={() => setSelected(new Set())}>
                Clear
              </button>
              <button className="btn small primary" onClick={() => onBatch([...selected])} data-testid="batch-open">
                Reply to {selected.size}
              </button>
            </span>
          ) : (
            <span className="muted" style={{ fontSize: 12 }}>
              Tick dialogs to reply to many
            </span>
          )}
        </div>
        {shownError && (
          <div className="error" role="alert">
            {shownError}{' '}
            <button className="btn small" onClick={() => desk.loadInbox(true).catch(() => undefined)}>
              Retry
            </button>
          </div>
        )}
      </div>
      <div className="inbox-list" ref={scroller} tabIndex={0} onKeyDown={onKey} data-testid="inbox-list">
        {keys.length === 0 && (
          <div className="empty" style={{ height: 200 }}>
            {snap.inboxLoading ? 'Loading…' : 'No conversations yet.'}
          </div>
        )}
        <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
          {items.map((row) => {
            const key = keys[row.index];
            return (
              <Row
                key={key}
                dialog={snap.inbox.byKey.get(key)!}
                dialogKey={key}
                top={row.start}
                open={key === openKey}
                checked={selected.has(key)}
                onOpen={open}
                onToggle={toggle}
              />
            );
          })}
        </div>
      </div>
    </section>
  );
}

const FilterBar = memo(function FilterBar({
  catalog,
  filters,
  onChange,
}: {
  catalog: Catalog;
  filters: Filters;
  onChange: (f: Filters) => void;
}) {
  return (
    <div className="row">
      <select className="input" aria-label="Account" value={filters.account} onChange={(e) => onChange({ ...filters, account: e.target.value })}>
        <option value="">All accounts</option>
        {catalog.accounts.map((a) => (
          <option key={a.id} value={a.id}>
            {a.display_name || a.phone}
          </option>
        ))}
      </select>
      <select className="input" aria-label="Group" value={filters.group} onChange={(e) => onChange({ ...filters, group: e.target.value })}>
        <option value="">All groups</option>
        {catalog.groups.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name}
          </option>
        ))}
      </select>
      <select className="input" aria-label="Tag" value={filters.tag} onChange={(e) => onChange({ ...filters, tag: e.target.value })}>
        <option value="">All tags</option>
        {catalog.tags.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
    </div>
  );
});

const Row = memo(function Row({
  dialog: d,
  dialogKey: key,
  top,
  open,
  checked,
  onOpen,
  onToggle,
}: {
  dialog: DialogView;
  dialogKey: string;
  top: number;
  open: boolean;
  checked: boolean;
  onOpen: (key: string) => void;
  onToggle: (key: string) => void;
}) {
  return (
    <div
      className={`dlg ${open ? 'selected' : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      onClick={() => onOpen(key)}
      data-testid="dialog-row"
      data-key={key}
      data-top={top}
      role="option"
      aria-selected={open}
    >
      <input
        type="checkbox"
        aria-label={`Select ${d.title}`}
        checked={checked}
        onClick={(e) => e.stopPropagation()}
        onChange={() => onToggle(key)}
      />
      <Avatar seed={d.peer} title={d.title} />
      <div className="lines">
        <div className="title ellipsis">{d.title}</div>
        <div className="preview ellipsis">{d.preview || '\u00a0'}</div>
        <div className="acct ellipsis" title={d.account_label}>
          {d.account_label}
        </div>
      </div>
      <div className="side">
        <span>{shortTime(d.last_message_at)}</span>
        {d.pinned && (
          <span className="pin" title="Pinned">
            📌
          </span>
        )}
        {d.unread_count > 0 && (
          <span className="badge" data-testid="unread">
            {d.unread_count}
          </span>
        )}
      </div>
    </div>
  );
});
