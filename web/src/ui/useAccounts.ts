// The accounts, groups and tags the caller may see, for filters and pickers.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, must } from '../api/client';
import type { AccountView, Group, Tag } from '../api/types';

/** Every account matching `query` (all pages, up to `max`). */
export async function allAccounts(
  query: { group?: string; tag?: string; owner?: string; status?: string; q?: string } = {},
  max = 5000,
): Promise<AccountView[]> {
  const out: AccountView[] = [];
  let cursor: string | undefined;
  do {
    const page = await must(api.GET('/api/accounts', { params: { query: { ...query, cursor, limit: 500 } } }));
    out.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && out.length < max);
  return out;
}

export interface Catalog {
  accounts: AccountView[];
  groups: Group[];
  tags: Tag[];
  reload: () => void;
}

/** Loads the caller's accounts, groups and tags once (and on `reload`). */
export function useCatalog(): Catalog {
  const [state, setState] = useState<Omit<Catalog, 'reload'>>({ accounts: [], groups: [], tags: [] });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    Promise.all([
      allAccounts().catch(() => []),
      must(api.GET('/api/groups', {})).then((r) => r.items).catch(() => []),
      must(api.GET('/api/tags')).then((r) => r.items).catch(() => []),
    ]).then(([accounts, groups, tags]) => live && setState({ accounts, groups, tags }));
    return () => {
      live = false;
    };
  }, [round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  // One object per load, so memoized consumers re-render only when it changes.
  return useMemo(() => ({ ...state, reload }), [state, reload]);
}
