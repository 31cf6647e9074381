// Message search as the app asks for it: the filters a person sets, the
// query string they become, and snippets turned into plain-text segments
// (the server marks matched words; they are shown as <mark>, never as HTML).
import type { SearchHitView } from '../api/types';

export type SearchOrder = 'newest' | 'relevance';

/** What the search box and its filters hold. */
export interface SearchFilters {
  /** Words, `"phrases"` and `-excluded` words, as typed. */
  q: string;
  /** Tag ids every hit must carry. */
  tags: readonly string[];
  /** One account, or '' for every account I see. */
  account: string;
  /** First day (`YYYY-MM-DD`, as a native date input gives it), or ''. */
  from: string;
  /** Last day, inclusive, or ''. */
  to: string;
  order: SearchOrder;
}

export const emptyFilters: SearchFilters = { q: '', tags: [], account: '', from: '', to: '', order: 'newest' };

/** Hits per page. */
export const SEARCH_PAGE = 30;

/** True when the filters name something to look for (the server refuses a search with neither words nor tags). */
export function canSearch(f: SearchFilters): boolean {
  return f.q.trim() !== '' || f.tags.length > 0;
}

/** The query parameters of `GET /api/search`: only the filters that are set, so the URL stays short and stable. */
export interface SearchParams {
  q?: string;
  tags?: string;
  account?: string;
  from?: string;
  to?: string;
  order?: SearchOrder;
  cursor?: string;
  limit: number;
}

/** Turns filters (and the previous page's cursor) into the search's query parameters. */
export function searchParams(f: SearchFilters, cursor?: string | null, limit = SEARCH_PAGE): SearchParams {
  const p: SearchParams = { limit };
  const q = f.q.trim();
  if (q) p.q = q;
  if (f.tags.length) p.tags = [...f.tags].join(',');
  if (f.account) p.account = f.account;
  if (f.from) p.from = f.from;
  if (f.to) p.to = f.to;
  if (f.order !== 'newest') p.order = f.order;
  if (cursor) p.cursor = cursor;
  return p;
}

/** One run of a snippet: plain text, `hit` when it matched the query. */
export interface Segment {
  text: string;
  hit: boolean;
}

/**
 * Normalises a hit's snippet for display: empty pieces go, line breaks become
 * spaces (a result row is a few lines), blanks between two matched words are
 * marked with them and neighbours of one kind join (so a phrase is one mark),
 * while a blank alone is never marked. The text stays text: whatever it
 * holds (`<b>`, `&amp;`) is rendered as typed.
 */
export function snippetSegments(snippet: readonly { text: string; hit: boolean }[]): Segment[] {
  const pieces = snippet
    .map((p) => ({ text: p.text.replace(/\s*[\r\n]+\s*/g, ' '), hit: p.hit }))
    .filter((p) => p.text !== '');
  const blank = (i: number) => pieces[i].text.trim() === '';
  const out: Segment[] = [];
  pieces.forEach((piece, i) => {
    let hit = piece.hit;
    if (blank(i)) {
      let next = i + 1;
      while (next < pieces.length && blank(next)) next++;
      hit = (out[out.length - 1]?.hit ?? false) && next < pieces.length && pieces[next].hit;
    }
    const last = out[out.length - 1];
    if (last && last.hit === hit) last.text += piece.text;
    else out.push({ text: piece.text, hit });
  });
  return out;
}

/** The key of a hit, unique in a result list (a message is its account, dialog and id). */
export function hitKey(h: Pick<SearchHitView, 'account_id' | 'peer' | 'id'>): string {
  return `${h.account_id}:${h.peer}:${h.id}`;
}

/** Appends a further page, dropping hits already listed (a message indexed between two pages may move). */
export function appendHits(held: readonly SearchHitView[], page: readonly SearchHitView[]): SearchHitView[] {
  const seen = new Set(held.map(hitKey));
  return [...held, ...page.filter((h) => !seen.has(hitKey(h)))];
}
