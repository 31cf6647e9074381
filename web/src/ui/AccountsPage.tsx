// Accounts: everyone sees theirs and can log them in or out; admins and
// leaders also filter, import, add, assign, bulk assign, reclaim and delete.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, must } from '../api/client';
import type { AccountView, AgentView } from '../api/types';
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';
import { AccountLogin } from './AccountLogin';
import { DeletingNotice, useBackgroundDeletes } from './BackgroundDeletes';
import { ImportCard } from './ImportCard';
import { allAccounts, useCatalog } from './useAccounts';

const STATUSES = ['online', 'offline', 'connecting', 'code_sent', 'password_required', 'logged_out', 'banned', 'error'];

export function AccountsPage({ desk }: { desk: Desk }) {
  const snap = useDesk(desk);
  const manager = snap.me.role !== 'agent';
  const catalog = useCatalog();
  const [filter, setFilter] = useState({ q: '', status: '', owner: '', group: '', tag: '' });
  const [rows, setRows] = useState<AccountView[] | null>(null);
  const [agents, setAgents] = useState<AgentView[]>([]);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [bulkAgent, setBulkAgent] = useState('');
  const [loggingIn, setLoggingIn] = useState<AccountView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const deletes = useBackgroundDeletes();

  useEffect(() => {
    const query = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
    allAccounts(query, 2000)
      .then(setRows)
      .catch((e) => setError((e as Error).message));
  }, [filter, round]);

  useEffect(() => {
    if (!manager) return;
    must(api.GET('/api/agents', { params: { query: { limit: 500 } } }))
      .then((p) => setAgents(p.items))
      .catch(() => undefined);
  }, [manager]);

  const agentName = useMemo(() => new Map(agents.map((a) => [a.id, a.display_name || a.username])), [agents]);
  const status = (a: AccountView) => snap.accountStatus[a.id] ?? a.status;

  async function act(what: Promise<unknown>, done: string) {
    setError(null);
    try {
      await what;
      setNotice(done);
      reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const assign = (a: AccountView, agentId: string) =>
    act(
      agentId
        ? must(api.PUT('/api/accounts/{id}/owner', { params: { path: { id: a.id } }, body: { agent_id: agentId } }))
        : must(api.DELETE('/api/accounts/{id}/owner', { params: { path: { id: a.id } } })),
      agentId ? `${a.phone} assigned to ${agentName.get(agentId)}.` : `${a.phone} reclaimed.`,
    );

  const bulkAssign = () =>
    act(
      must(api.POST('/api/accounts/assign', { body: { account_ids: [...selected], agent_id: bulkAgent } })).then(() =>
        setSelected(new Set()),
      ),
      `${selected.size} accounts assigned to ${agentName.get(bulkAgent)}.`,
    );

  const remove = (a: AccountView) =>
    confirm(`Delete ${a.phone} and its conversations from the desk?`) &&
    act(deletes.remove(api.DELETE('/api/accounts/{id}', { params: { path: { id: a.id } } })), `${a.phone} deleted.`);

  const logout = (a: AccountView) =>
    act(must(api.POST('/api/accounts/{id}/logout', { params: { path: { id: a.id } } })), `${a.phone} logged out.`);

  function toggle(id: string) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  }

  const set = (k: keyof typeof filter) => (e: { target: { value: string } }) => setFilter({ ...filter, [k]: e.target.value });

  return (
    <div className="page">
      <h1>Accounts</h1>
      {manager && (
        <div style={{ display: 'grid', gridTemplateColumns: 'minmax(0, 2fr) minmax(0, 1fr)', gap: 16 }}>
          <ImportCard onImported={reload} />
          <AddAccount onAdded={reload} onError={setError} />
        </div>
      )}
      <div className="toolbar">
        <label className="field">
          Search
          <input className="input" placeholder="phone or name" value={filter.q} onChange={set('q')} />
        </label>
        <label className="field">
          Status
          <select className="input" value={filter.status} onChange={set('status')} aria-label="Status filter">
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        {manager && (
          <label className="field">
            Owner
            <select className="input" value={filter.owner} onChange={set('owner')} aria-label="Owner filter">
              <option value="">anyone</option>
              <option value="none">nobody (unassigned)</option>
              {agents.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.display_name || a.username}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field">
          Group
          <select className="input" value={filter.group} onChange={set('group')}>
            <option value="">any</option>
            {catalog.groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Tag
          <select className="input" value={filter.tag} onChange={set('tag')}>
            <option value="">any</option>
            {catalog.tags.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        {manager && selected.size > 0 && (
          <span className="toolbar" style={{ marginLeft: 'auto' }}>
            <select className="input" value={bulkAgent} onChange={(e) => setBulkAgent(e.target.value)} aria-label="Bulk assign to">
              <option value="">assign {selected.size} to…</option>
              {agents.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.display_name || a.username}
                </option>
              ))}
            </select>
            <button className="btn primary" disabled={!bulkAgent} onClick={bulkAssign}>
              Assign
            </button>
          </span>
        )}
      </div>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {notice && !error && <div className="notice">{notice}</div>}
      <DeletingNotice running={deletes.running} />
      <table className="grid" data-testid="accounts-table">
        <thead>
          <tr>
            {manager && <th style={{ width: 28 }} />}
            <th>Phone</th>
            <th>Name</th>
            <th>Status</th>
            {manager && <th>Owner</th>}
            <th>Tags</th>
            <th style={{ textAlign: 'right' }}>Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows === null && (
            <tr>
              <td colSpan={7} className="muted">
                Loading…
              </td>
            </tr>
          )}
          {rows?.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No accounts match.
              </td>
            </tr>
          )}
          {rows?.map((a) => (
            <tr key={a.id} data-testid="account-row" data-phone={a.phone}>
              {manager && (
                <td>
                  <input type="checkbox" aria-label={`Select ${a.phone}`} checked={selected.has(a.id)} onChange={() => toggle(a.id)} />
                </td>
              )}
              <td>{a.phone}</td>
              <td>{a.display_name}</td>
              <td>
                <span className={`status ${status(a)}`}>{status(a).replace('_', ' ')}</span>
              </td>
              {manager && (
                <td>
                  <select
                    className="input"
                    style={{ padding: '3px 6px', fontSize: 12 }}
                    aria-label={`Owner of ${a.phone}`}
                    value={a.owner_id ?? ''}
                    onChange={(e) => void assign(a, e.target.value)}
                  >
                    <option value="">— unassigned —</option>
                    {agents.map((g) => (
                      <option key={g.id} value={g.id}>
                        {g.display_name || g.username}
                      </option>
                    ))}
                  </select>
                </td>
              )}
              <td>{a.tags.map((t) => t.name).join(', ')}</td>
              <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                {status(a) === 'online' ? (
                  <button className="btn small" onClick={() => void logout(a)}>
                    Log out
                  </button>
                ) : (
                  <button className="btn small" onClick={() => setLoggingIn(a)}>
                    Log in
                  </button>
                )}{' '}
                {manager && (
                  <button className="btn small danger" onClick={() => void remove(a)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {loggingIn && (
        <AccountLogin
          account={loggingIn}
          onDone={() => {
            setLoggingIn(null);
            reload();
          }}
        />
      )}
    </div>
  );
}

function AddAccount({ onAdded, onError }: { onAdded: () => void; onError: (m: string) => void }) {
  const [phone, setPhone] = useState('');
  const [name, setName] = useState('');
  return (
    <form
      className="card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await must(api.POST('/api/accounts', { body: { phone, name: name || null, tags: [], owner_id: null } }));
          setPhone('');
          setName('');
          onAdded();
        } catch (err) {
          onError((err as Error).message);
        }
      }}
    >
      <h2>Add an account</h2>
      <input className="input" placeholder="+15550001111" value={phone} onChange={(e) => setPhone(e.target.value)} required />
      <input className="input" placeholder="Name (optional)" value={name} onChange={(e) => setName(e.target.value)} />
      <button className="btn" type="submit">
        Add
      </button>
    </form>
  );
}
