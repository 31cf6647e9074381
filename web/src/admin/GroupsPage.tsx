// Groups: the caller's own folders of accounts.
import { useEffect, useState } from 'react';
import { api, must } from '../api/client';
import type { AccountView, Group } from '../api/types';
import { DeletingNotice, useBackgroundDeletes } from '../ui/BackgroundDeletes';
import { allAccounts } from '../ui/useAccounts';

export function GroupsPage() {
  const [groups, setGroups] = useState<Group[]>([]);
  const [accounts, setAccounts] = useState<AccountView[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const deletes = useBackgroundDeletes();

  useEffect(() => {
    must(api.GET('/api/groups', {}))
      .then((r) => setGroups(r.items))
      .catch((e) => setError((e as Error).message));
    allAccounts({}, 2000).then(setAccounts).catch(() => undefined);
  }, [round]);

  async function act(what: Promise<unknown>) {
    setError(null);
    try {
      await what;
      setRound((r) => r + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <div className="page">
      <h1>Groups</h1>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void act(must(api.POST('/api/groups', { body: { name } })).then(() => setName('')));
        }}
      >
        <input className="input" placeholder="New group name" value={name} onChange={(e) => setName(e.target.value)} required />
        <button className="btn primary">Create group</button>
      </form>
      {error && <div className="error">{error}</div>}
      <DeletingNotice running={deletes.running} />
      <table className="grid" data-testid="groups-table">
        <thead>
          <tr>
            <th>Group</th>
            <th>Accounts</th>
            <th>Add an account</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {groups.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No groups yet.
              </td>
            </tr>
          )}
          {groups.map((g) => {
            const members = accounts.filter((a) => a.groups.includes(g.id));
            return (
              <tr key={g.id}>
                <td>{g.name}</td>
                <td>
                  {members.map((m) => (
                    <span key={m.id} className="chip" style={{ marginRight: 4 }}>
                      {m.display_name || m.phone}
                      <button
                        className="btn small ghost"
                        onClick={() =>
                          void act(must(api.DELETE('/api/groups/{id}/accounts', { params: { path: { id: g.id } }, body: { account_ids: [m.id] } })))
                        }
                      >
                        ✕
                      </button>
                    </span>
                  ))}
                </td>
                <td>
                  <select
                    className="input"
                    value=""
                    onChange={(e) =>
                      void act(must(api.PUT('/api/groups/{id}/accounts', { params: { path: { id: g.id } }, body: { account_ids: [e.target.value] } })))
                    }
                  >
                    <option value="">add…</option>
                    {accounts
                      .filter((a) => !a.groups.includes(g.id))
                      .map((a) => (
                        <option key={a.id} value={a.id}>
                          {a.display_name || a.phone}
                        </option>
                      ))}
                  </select>
                </td>
                <td style={{ textAlign: 'right' }}>
                  <button className="btn small danger" onClick={() => void act(deletes.remove(api.DELETE('/api/groups/{id}', { params: { path: { id: g.id } } })))}>
                    Delete
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
