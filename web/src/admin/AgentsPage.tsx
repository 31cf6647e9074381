// Agents and teams: create, disable or enable, reset password, delete.
import { useEffect, useState, type FormEvent } from 'react';
import { api, must } from '../api/client';
import type { AgentView } from '../api/types';
import { DeletingNotice, useBackgroundDeletes } from '../ui/BackgroundDeletes';

export function AgentsPage({ me }: { me: AgentView }) {
  const [agents, setAgents] = useState<AgentView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const deletes = useBackgroundDeletes();
  const [form, setForm] = useState({ username: '', password: '', display_name: '', role: 'agent', leader_id: '' });

  useEffect(() => {
    must(api.GET('/api/agents', { params: { query: { limit: 500 } } }))
      .then((p) => setAgents(p.items))
      .catch((e) => setError((e as Error).message));
  }, [round]);

  async function act(what: Promise<unknown>, done: string) {
    setError(null);
    try {
      await what;
      setNotice(done);
      setRound((r) => r + 1);
    } catch (e) {
      setError((e as Error).message);
      setNotice(null);
    }
  }

  function create(e: FormEvent) {
    e.preventDefault();
    const body = {
      username: form.username,
      password: form.password,
      display_name: form.display_name || null,
      role: form.role as AgentView['role'],
      leader_id: form.leader_id || null,
    };
    void act(must(api.POST('/api/agents', { body })), `${form.username} created.`).then(() =>
      setForm({ ...form, username: '', password: '', display_name: '' }),
    );
  }

  function resetPassword(a: AgentView) {
    const password = prompt(`New password for ${a.username} (at least 8 characters)`);
    if (!password) return;
    void act(
      must(api.POST('/api/agents/{id}/password', { params: { path: { id: a.id } }, body: { password } })),
      `${a.username}'s password was reset; their sessions were signed out.`,
    );
  }

  function remove(a: AgentView) {
    if (!confirm(`Delete ${a.username}? Their pins and groups go too.`)) return;
    void act(deletes.remove(api.DELETE('/api/agents/{id}', { params: { path: { id: a.id } } })), `${a.username} deleted.`);
  }

  const leaders = agents.filter((a) => a.role === 'leader');
  const name = (id: string | null | undefined) => agents.find((a) => a.id === id)?.username ?? '';

  return (
    <div className="page">
      <h1>Agents</h1>
      <form className="card" onSubmit={create}>
        <h2>New agent</h2>
        <div className="toolbar">
          <label className="field">
            Username
            <input className="input" name="new-username" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} required />
          </label>
          <label className="field">
            Display name
            <input className="input" value={form.display_name} onChange={(e) => setForm({ ...form, display_name: e.target.value })} />
          </label>
          <label className="field">
            Password
            <input className="input" name="new-password" type="password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required />
          </label>
          <label className="field">
            Role
            <select className="input" name="new-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
              <option value="agent">agent</option>
              {me.role === 'admin' && <option value="leader">leader</option>}
              {me.role === 'admin' && <option value="admin">admin</option>}
            </select>
          </label>
          {me.role === 'admin' && form.role === 'agent' && (
            <label className="field">
              Team leader
              <select className="input" value={form.leader_id} onChange={(e) => setForm({ ...form, leader_id: e.target.value })}>
                <option value="">none</option>
                {leaders.map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.username}
                  </option>
                ))}
              </select>
            </label>
          )}
          <button className="btn primary" type="submit">
            Create
          </button>
        </div>
      </form>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {notice && !error && <div className="notice">{notice}</div>}
      <DeletingNotice running={deletes.running} />
      <table className="grid" data-testid="agents-table">
        <thead>
          <tr>
            <th>Username</th>
            <th>Name</th>
            <th>Role</th>
            <th>Leader</th>
            <th>State</th>
            <th style={{ textAlign: 'right' }}>Actions</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr key={a.id}>
              <td>{a.username}</td>
              <td>{a.display_name}</td>
              <td>{a.role}</td>
              <td>{name(a.leader_id)}</td>
              <td>
                <span className={`status ${a.disabled ? 'error' : 'online'}`}>{a.disabled ? 'disabled' : 'active'}</span>
              </td>
              <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                {a.id !== me.id && (
                  <>
                    <button className="btn small" onClick={() => resetPassword(a)}>
                      Reset password
                    </button>{' '}
                    <button
                      className={`btn small ${a.disabled ? '' : 'danger'}`}
                      onClick={() =>
                        void act(
                          must(api.PATCH('/api/agents/{id}', { params: { path: { id: a.id } }, body: { disabled: !a.disabled } })),
                          `${a.username} ${a.disabled ? 'enabled' : 'disabled'}.`,
                        )
                      }
                    >
                      {a.disabled ? 'Enable' : 'Disable'}
                    </button>{' '}
                    <button className="btn small danger" onClick={() => remove(a)}>
                      Delete
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
