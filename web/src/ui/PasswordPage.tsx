// Changing one's own password. The server revokes every older token (open
// sockets included) and answers a new one, which the app switches to.
import { useState } from 'react';
import { api, must } from '../api/client';

/** Shortest password the server takes. */
const MIN_LENGTH = 8;

export function PasswordPage({ onToken }: { onToken: (token: string) => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit() {
    setError(null);
    setDone(false);
    if (next !== repeat) {
      setError('The new password and its repetition differ.');
      return;
    }
    setBusy(true);
    try {
      const reply = await must(api.POST('/api/me/password', { body: { current_password: current, new_password: next } }));
      setCurrent('');
      setNext('');
      setRepeat('');
      setDone(true);
      onToken(reply.token);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="page">
      <h1>Password</h1>
      <form
        className="password-form"
        data-testid="password-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label className="field">
          Current password
          <input className="input" name="current" type="password" autoComplete="current-password" value={current}
            onChange={(e) => setCurrent(e.target.value)} required />
        </label>
        <label className="field">
          New password
          <input className="input" name="new" type="password" autoComplete="new-password" minLength={MIN_LENGTH} value={next}
            onChange={(e) => setNext(e.target.value)} required />
        </label>
        <label className="field">
          New password again
          <input className="input" name="repeat" type="password" autoComplete="new-password" minLength={MIN_LENGTH} value={repeat}
            onChange={(e) => setRepeat(e.target.value)} required />
        </label>
        <button className="btn primary" disabled={busy}>Change password</button>
        {error && <div className="error" role="alert">{error}</div>}
        {done && <div className="muted" role="status">Password changed. Other sessions were signed out.</div>}
      </form>
    </div>
  );
}
