// The agent console: inbox (or search results), open dialog, customer profile.
import { useState } from 'react';
import { canSearch, emptyFilters, type SearchFilters } from '../state/search';
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';
import { InboxPane } from './InboxPane';
import { DialogPane } from './DialogPane';
import { ProfilePane } from './ProfilePane';
import { BatchReply } from './BatchReply';
import { SearchBar, SearchResults } from './Search';
import { useCatalog } from './useAccounts';

export function Console({ desk }: { desk: Desk }) {
  const snap = useDesk(desk);
  const catalog = useCatalog();
  const [batchTargets, setBatchTargets] = useState<string[] | null>(null);
  const [filters, setFilters] = useState<SearchFilters>(emptyFilters);
  const [filtersOpen, setFiltersOpen] = useState(false);
  const searching = filtersOpen || canSearch(filters);
  const open = snap.dialog;
  return (
    <div className={`console ${open ? '' : 'no-profile'}`}>
      <div className="side-col">
        <SearchBar desk={desk} catalog={catalog} filters={filters} onChange={setFilters} open={filtersOpen} onOpen={setFiltersOpen} />
        <InboxPane desk={desk} catalog={catalog} hidden={searching} onBatch={setBatchTargets} />
        {searching && <SearchResults desk={desk} filters={filters} />}
      </div>
      {open ? (
        <DialogPane key={`${open.account_id}:${open.peer}`} desk={desk} />
      ) : (
        <div className="empty">
          <div>
            <div style={{ fontSize: 40 }}>💬</div>
            <div>Choose a conversation. ↑/↓ move through the inbox, Enter goes to the reply box, Esc closes, / searches.</div>
          </div>
        </div>
      )}
      {open && <ProfilePane key={`p-${open.account_id}:${open.peer}`} accountId={open.account_id} peer={open.peer} />}
      {batchTargets && <BatchReply desk={desk} targets={batchTargets} onClose={() => setBatchTargets(null)} />}
    </div>
  );
}
