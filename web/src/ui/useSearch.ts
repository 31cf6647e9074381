// Runs the search the filters describe: debounced while typing, answers to
// an older query dropped, further pages appended on demand.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, must } from '../api/client';
import type { SearchHitView } from '../api/types';
import { appendHits, canSearch, searchParams, type SearchFilters } from '../state/search';

/** Pause after the last keystroke before searching. */
const DEBOUNCE_MS = 300;

export interface SearchView {
  hits: readonly SearchHitView[];
  /** The next page's cursor; null on the last page. */
  cursor: string | null;
  loading: boolean;
  /** The server's refusal (a 400 names what is wrong with the query), or a network failure. */
  error: string | null;
  /** True once an answer for the current filters arrived (so "no hits" is not said while waiting). */
  answered: boolean;
  /** The words the shown answer is for (tests wait on it, so an earlier answer is not taken for this one). */
  answeredQ: string | null;
}

const idle: SearchView = { hits: [], cursor: null, loading: false, error: null, answered: false, answeredQ: null };

export function useSearch(filters: SearchFilters): SearchView & { more: () => void } {
  const [view, setView] = useState<SearchView>(idle);
  /** Bumped per query: an answer carrying an older number is dropped. */
  const round = useRef(0);
  /** True while a further page is fetched (a scroll fires many times before the state says so). */
  const paging = useRef(false);
  const latest = useRef({ filters, view });
  latest.current = { filters, view };
  const key = JSON.stringify(searchParams(filters));

  useEffect(() => {
    const mine = ++round.current;
    const f = latest.current.filters;
    if (!canSearch(f)) {
      setView(idle);
      return;
    }
    setView((v) => ({ ...v, loading: true, error: null, answered: false, answeredQ: null }));
    const answeredQ = f.q.trim();
    const timer = setTimeout(() => {
      must(api.GET('/api/search', { params: { query: searchParams(f) } }))
        .then((page) => {
          if (round.current === mine) {
            setView({ hits: page.items, cursor: page.next_cursor ?? null, loading: false, error: null, answered: true, answeredQ });
          }
        })
        .catch((e: Error) => {
          if (round.current === mine) setView({ ...idle, error: e.message, answered: true, answeredQ });
        });
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [key]);

  const more = useCallback(() => {
    const { filters: f, view: v } = latest.current;
    if (!v.cursor || v.loading || paging.current) return;
    const mine = round.current;
    paging.current = true;
    setView((s) => ({ ...s, loading: true }));
    must(api.GET('/api/search', { params: { query: searchParams(f, v.cursor) } }))
      .then((page) => {
        if (round.current !== mine) return;
        setView((s) => ({ ...s, hits: appendHits(s.hits, page.items), cursor: page.next_cursor ?? null, loading: false }));
      })
      .catch((e: Error) => {
        if (round.current === mine) setView((s) => ({ ...s, loading: false, error: e.message }));
      })
      .finally(() => (paging.current = false));
  }, []);

  return { ...view, more };
}
