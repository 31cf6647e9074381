// The audit log with filters (actor, account, action, time range).
import { useEffect, useState } from 'react';
import { api, must } from '../api/client';
import type { AgentView, AuditEntry } from '../api/types';

const ACTIONS: AuditEntry['action'][] = [
  'auth.login', 'agent.create', 'agent.update', 'agent.delete', 'agent.password', 'account.import', 'account.create',
  'account.delete', 'account.assign', 'account.reclaim', 'account.update', 'account.login', 'account.logout',
  'message.send', 'message.edit', 'message.delete', 'tenant.create',
];

export function AuditPage() {
  const [filter, setFilter] = useState({ actor: '', account: '', action: '', from: '', to: '' });
  const [rows, setRows] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [agents, setAgents] = useState<AgentView[]>([]);
  useEffect(() => {
    must(api.GET('/api/agents', { params: { query: { limit: 500 } } }))
      .then((p) => setAgents(p.items))
      .catch(() => undefined);
  }, []);
  const who = (id: string | null | undefined) => agents.find((a) => a.id === id)?.username ?? id ?? '—';
  // Details name users by id: show their usernames instead.
  const details = (d: unknown) =>
    Object.entries((d ?? {}) as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${typeof v === 'string' && v.startsWith('usr_') ? who(v) : JSON.stringify(v)}`)
      .join(' · ');

  function query(next?: string) {
    const q = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
    if (q.from) q.from = new Date(q.from).toISOString();
    if (q.to) q.to = new Date(q.to).toISOString();
    return must(api.GET('/api/audit', { params: { query: { ...q, cursor: next, limit: 100 } } }));
  }

  useEffect(() => {
    query()
      .then((p) => {
        setRows(p.items);
        setCursor(p.next_cursor ?? null);
        setError(null);
      })
      .catch((e) => setError((e as Error).message));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filter]);

  const set = (k: keyof typeof filter) => (e: { target: { value: string } }) => setFilter({ ...filter, [k]: e.target.value });

  return (
    <div className="page">
      <h1>Audit log</h1>
      <div className="toolbar">
        <label className="field">
          Action
          <select className="input" value={filter.action} onChange={set('action')} aria-label="Action filter">
            <option value="">any</option>
            {ACTIONS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Who
          <select className="input" value={filter.actor} onChange={set('actor')}>
            <option value="">anyone</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.username}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Account id
          <input className="input" value={filter.account} onChange={set('account')} />
        </label>
        <label className="field">
          From
          <input className="input" type="datetime-local" value={filter.from} onChange={set('from')} />
        </label>
        <label className="field">
          To
          <input className="input" type="datetime-local" value={filter.to} onChange={set('to')} />
        </label>
      </div>
      {error && <div className="error">{error}</div>}
      <table className="grid" data-testid="audit-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Action</th>
            <th>Account</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td style={{ whiteSpace: 'nowrap' }}>{new Date(r.at).toLocaleString()}</td>
              <td>{who(r.actor_id)}</td>
              <td>
                <code>{r.action}</code>
              </td>
              <td style={{ fontSize: 12 }}>{r.account_id ?? r.target ?? ''}</td>
              <td style={{ fontSize: 12, fontFamily: 'monospace' }}>{details(r.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button
          className="btn"
          onClick={() =>
            query(cursor).then((p) => {
              setRows([...rows, ...p.items]);
              setCursor(p.next_cursor ?? null);
            })
          }
        >
          Older entries
        </button>
      )}
    </div>
  );
}
