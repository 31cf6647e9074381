// The agent console: inbox, open dialog, customer profile.
import { useState } from 'react';
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';
import { InboxPane } from './InboxPane';
import { DialogPane } from './DialogPane';
import { ProfilePane } from './ProfilePane';
import { BatchReply } from './BatchReply';

export function Console({ desk }: { desk: Desk }) {
  const snap = useDesk(desk);
  const [batchTargets, setBatchTargets] = useState<string[] | null>(null);
  const open = snap.dialog;
  return (
    <div className={`console ${open ? '' : 'no-profile'}`}>
      <InboxPane desk={desk} onBatch={setBatchTargets} />
      {open ? (
        <DialogPane key={`${open.account_id}:${open.peer}`} desk={desk} />
      ) : (
        <div className="empty">
          <div>
            <div style={{ fontSize: 40 }}>💬</div>
            <div>Choose a conversation. ↑/↓ move through the inbox, Enter goes to the reply box, Esc closes.</div>
          </div>
        </div>
      )}
      {open && <ProfilePane key={`p-${open.account_id}:${open.peer}`} accountId={open.account_id} peer={open.peer} />}
      {batchTargets && <BatchReply desk={desk} targets={batchTargets} onClose={() => setBatchTargets(null)} />}
    </div>
  );
}
