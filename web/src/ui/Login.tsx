// Sign-in: tenant, username, password.
import { useState, type FormEvent } from 'react';
import { api, must, setToken } from '../api/client';
import type { AgentView } from '../api/types';

export function Login({ onSignedIn }: { onSignedIn: (token: string, me: AgentView) => void }) {
  const [tenant, setTenant] = useState('demo');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { token } = await must(api.POST('/api/auth/login', { body: { tenant, username, password } }));
      setToken(token);
      const me = await must(api.GET('/api/me'));
      onSignedIn(token, me);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  }

  return (
    <div className="login-wrap">
      <form className="login-card" onSubmit={submit} aria-label="Sign in">
        <div className="brand">
          <span className="brand-mark">✈</span> tgdesk
        </div>
        <div className="muted">Sign in to your team's help desk.</div>
        <label className="field">
          Tenant
          <input className="input" name="tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} required />
        </label>
        <label className="field">
          Username
          <input
            className="input"
            name="username"
            autoFocus
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
          />
        </label>
        <label className="field">
          Password
          <input
            className="input"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        {error && (
          <div className="error" role="alert">
            {error}
          </div>
        )}
        <button className="btn primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
