// Message search in the console's left column: the box (/ or Ctrl+K) with
// its filters, and the hits that replace the inbox list while searching.
// A hit opens its dialog beside the list, at the message.
import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent, type UIEvent } from 'react';
import type { SearchHitView, Tag } from '../api/types';
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';
import { canSearch, emptyFilters, hitKey, type SearchFilters, type SearchOrder } from '../state/search';
import { shortTime } from './format';
import { Snippet } from './Snippet';
import { TagChip } from './Tags';
import type { Catalog } from './useAccounts';
import { useSearch } from './useSearch';

/** Fetch the next page when the list is scrolled this close to its end (px). */
const MORE_AT_PX = 400;

/** True when a key press goes into a text field (where `/` is a character, not a shortcut). */
function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function SearchBar({
  desk,
  catalog,
  filters,
  onChange,
  open,
  onOpen,
}: {
  desk: Desk;
  catalog: Catalog;
  filters: SearchFilters;
  onChange: (f: SearchFilters) => void;
  open: boolean;
  onOpen: (open: boolean) => void;
}) {
  const { tags } = useDesk(desk);
  const box = useRef<HTMLInputElement>(null);
  const active = open || canSearch(filters);
  const set = (patch: Partial<SearchFilters>) => onChange({ ...filters, ...patch });
  const filterCount = [filters.account, filters.from, filters.to].filter(Boolean).length + filters.tags.length;

  useEffect(() => {
    const shortcut = (e: globalThis.KeyboardEvent) => {
      const ctrlK = (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k';
      if (!ctrlK && !(e.key === '/' && !typing(e.target))) return;
      e.preventDefault();
      box.current?.focus();
      box.current?.select();
    };
    window.addEventListener('keydown', shortcut);
    return () => window.removeEventListener('keydown', shortcut);
  }, []);

  // The dictionary may have grown since sign-in (tags are made on another screen).
  useEffect(() => {
    if (open) desk.loadTags().catch(() => undefined);
  }, [open, desk]);

  function close() {
    onChange(emptyFilters);
    onOpen(false);
    box.current?.blur();
  }

  function onKey(e: KeyboardEvent) {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
    // Down leaves the box for the list: the first hit, or the inbox.
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      document.querySelector<HTMLElement>(active ? '[data-testid=search-hit]' : '[data-testid=inbox-list]')?.focus();
    }
  }

  return (
    <div className="search-head">
      <div className="row">
        <input
          ref={box}
          className="input search-input"
          type="search"
          placeholder="Search messages  ( / )"
          aria-label="Search messages"
          data-testid="search-input"
          value={filters.q}
          onChange={(e) => set({ q: e.target.value })}
          onKeyDown={onKey}
        />
        <button
          className={`btn small ${open ? 'on' : ''}`}
          aria-pressed={open}
          aria-expanded={open}
          onClick={() => onOpen(!open)}
          data-testid="search-filters-toggle"
          title="Filters: tags, account, dates, order"
        >
          Filters{filterCount > 0 ? ` · ${filterCount}` : ''}
        </button>
        {active && (
          <button className="btn small ghost" onClick={close} title="Close the search (Esc)" aria-label="Close the search">
            ✕
          </button>
        )}
      </div>
      {open && <FilterPanel catalog={catalog} tags={tags} filters={filters} set={set} />}
    </div>
  );
}

function FilterPanel({
  catalog,
  tags,
  filters,
  set,
}: {
  catalog: Catalog;
  tags: readonly Tag[];
  filters: SearchFilters;
  set: (patch: Partial<SearchFilters>) => void;
}) {
  const byId = new Map(tags.map((t) => [t.id, t]));
  const unpicked = tags.filter((t) => !filters.tags.includes(t.id));
  return (
    <div className="search-filters" data-testid="search-filters">
      <div className="row">
        <select className="input" aria-label="Search in account" value={filters.account} onChange={(e) => set({ account: e.target.value })}>
          <option value="">All my accounts</option>
          {catalog.accounts.map((a) => (
            <option key={a.id} value={a.id}>
              {a.display_name || a.phone}
            </option>
          ))}
        </select>
        <select className="input" aria-label="Order" value={filters.order} onChange={(e) => set({ order: e.target.value as SearchOrder })}>
          <option value="newest">Newest first</option>
          <option value="relevance">Best match first</option>
        </select>
      </div>
      <div className="row">
        <label className="date">
          From
          <input className="input" type="date" aria-label="From day" value={filters.from} max={filters.to || undefined} onChange={(e) => set({ from: e.target.value })} />
        </label>
        <label className="date">
          To
          <input className="input" type="date" aria-label="To day" value={filters.to} min={filters.from || undefined} onChange={(e) => set({ to: e.target.value })} />
        </label>
      </div>
      <div className="row wrap" data-testid="search-tags">
        {filters.tags.map((id) => (
          <button
            key={id}
            className="chip-button"
            title="Remove this tag from the search"
            onClick={() => set({ tags: filters.tags.filter((t) => t !== id) })}
          >
            <TagChip tag={byId.get(id) ?? { id, name: id }} /> ✕
          </button>
        ))}
        <select
          className="input"
          aria-label="Add a tag to the search"
          value=""
          disabled={unpicked.length === 0}
          onChange={(e) => e.target.value && set({ tags: [...filters.tags, e.target.value] })}
        >
          <option value="">{tags.length === 0 ? 'No tags' : '+ Tag'}</option>
          {unpicked.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

export function SearchResults({ desk, filters }: { desk: Desk; filters: SearchFilters }) {
  const search = useSearch(filters);
  const snap = useDesk(desk);
  const [opened, setOpened] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const colors = useMemo(() => new Map(snap.tags.map((t) => [t.id, t.color])), [snap.tags]);
  const ready = canSearch(filters);

  function open(h: SearchHitView) {
    setOpened(hitKey(h));
    setNotice(null);
    desk
      .openAt(h.account_id, h.peer, h.id)
      .then((found) => {
        if (!found && desk.get().dialog?.peer === h.peer) {
          setNotice('The message is further back than the history loaded here; the conversation opens at its newest messages.');
        }
      })
      .catch((e) => setNotice((e as Error).message));
  }

  function onScroll(e: UIEvent<HTMLDivElement>) {
    const el = e.currentTarget;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < MORE_AT_PX) search.more();
  }

  const count = search.hits.length;
  return (
    <section className="inbox" aria-label="Search results">
      <div
        className="search-status"
        data-testid="search-status"
        data-count={search.answered ? count : undefined}
        data-q={search.answeredQ ?? undefined}
      >
        {ready && search.loading && <span className="muted">Searching…</span>}
        {ready && !search.loading && search.answered && !search.error && (
          <span className="muted">
            {count.toLocaleString()}
            {search.cursor ? '+' : ''} {count === 1 ? 'message' : 'messages'}
          </span>
        )}
      </div>
      {search.error && (
        <div className="error" role="alert" data-testid="search-error" style={{ margin: '0 12px 8px' }}>
          {search.error}
        </div>
      )}
      {notice && (
        <div className="notice" style={{ margin: '0 12px 8px', fontSize: 13 }}>
          {notice}
        </div>
      )}
      <div className="inbox-list" onScroll={onScroll} data-testid="search-results" role="listbox" aria-label="Messages found">
        {!ready && (
          <div className="empty search-hint">
            Type words to find messages in all your accounts, or pick tags. “Quotes” find a phrase, -word leaves a word out.
          </div>
        )}
        {ready && search.answered && !search.error && count === 0 && (
          <div className="empty" data-testid="search-empty">
            No messages match.
          </div>
        )}
        {search.hits.map((h) => {
          const key = hitKey(h);
          return <Hit key={key} hit={h} hitKey={key} opened={key === opened} colors={colors} onOpen={open} />;
        })}
        {search.cursor && (
          <div style={{ padding: 12, textAlign: 'center' }}>
            <button className="btn small" onClick={search.more} disabled={search.loading}>
              {search.loading ? 'Loading…' : 'More results'}
            </button>
          </div>
        )}
      </div>
    </section>
  );
}

const Hit = memo(function Hit({
  hit: h,
  hitKey: key,
  opened,
  colors,
  onOpen,
}: {
  hit: SearchHitView;
  hitKey: string;
  opened: boolean;
  colors: ReadonlyMap<string, string | null | undefined>;
  onOpen: (h: SearchHitView) => void;
}) {
  function onKey(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key === 'Enter') onOpen(h);
    const next = e.key === 'ArrowDown' ? e.currentTarget.nextElementSibling : e.key === 'ArrowUp' ? e.currentTarget.previousElementSibling : null;
    if (next instanceof HTMLElement && next.dataset.testid === 'search-hit') {
      e.preventDefault();
      next.focus();
    }
  }
  const who = h.outgoing ? 'Sent by the account' : (h.sender_name ?? 'Unknown sender');
  return (
    <div
      className={`hit ${opened ? 'selected' : ''} ${h.deleted ? 'deleted' : ''}`}
      role="option"
      aria-selected={opened}
      tabIndex={0}
      onClick={() => onOpen(h)}
      onKeyDown={onKey}
      data-testid="search-hit"
      data-key={key}
    >
      <div className="hit-head">
        <span className="title ellipsis">{h.dialog_title ?? `Chat ${h.peer}`}</span>
        <span className="muted" title={new Date(h.date).toLocaleString()}>
          {shortTime(h.date)}
        </span>
      </div>
      <div className="hit-who ellipsis">
        <span>{who}</span> · <span className="acct">via {h.account_label}</span>
      </div>
      <div className="hit-text">
        <Snippet pieces={h.snippet} />
      </div>
      {(h.deleted || h.tags.length > 0) && (
        <div className="chips">
          {h.deleted && (
            <span className="chip deleted-mark" data-testid="hit-deleted">
              deleted
            </span>
          )}
          {h.tags.map((t) => (
            <TagChip key={t.id} tag={{ ...t, color: colors.get(t.id) }} />
          ))}
        </div>
      )}
    </div>
  );
});
