// Logging an account in from the desk: phone → code → 2FA password, with
// Telegram's refusals in words.
import { useEffect, useState, type FormEvent } from 'react';
import { api, must } from '../api/client';
import type { AccountView } from '../api/types';

type Step = 'starting' | 'code' | 'password' | 'online' | 'failed';

export function AccountLogin({ account, onDone }: { account: AccountView; onDone: () => void }) {
  const [step, setStep] = useState<Step>('starting');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const path = { params: { path: { id: account.id } } };

  function follow(status: string) {
    if (status === 'online') setStep('online');
    else if (status === 'password_required') setStep('password');
    else if (status === 'code_sent') setStep('code');
    setValue('');
  }

  useEffect(() => {
    must(api.POST('/api/accounts/{id}/login/start', path))
      .then((s) => follow(s.status))
      .catch((e) => {
        setError((e as Error).message);
        setStep('failed');
      });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [account.id]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const state =
        step === 'code'
          ? await must(api.POST('/api/accounts/{id}/login/code', { ...path, body: { code: value.trim() } }))
          : await must(api.POST('/api/accounts/{id}/login/password', { ...path, body: { password: value } }));
      follow(state.status);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="modal-back">
      <form className="modal" onSubmit={submit} role="dialog" aria-label="Log the account in">
        <h2>Log in {account.display_name || account.phone}</h2>
        <ol className="muted" style={{ margin: 0, paddingLeft: 18, fontSize: 13 }}>
          <li style={{ fontWeight: step === 'starting' ? 600 : undefined }}>Telegram sends a code to {account.phone}</li>
          <li style={{ fontWeight: step === 'code' ? 600 : undefined }}>Enter the code</li>
          <li style={{ fontWeight: step === 'password' ? 600 : undefined }}>Enter the 2FA password, if the account has one</li>
        </ol>
        {step === 'starting' && <div className="notice">Asking Telegram for a code…</div>}
        {step === 'code' && (
          <label className="field">
            Code Telegram sent to {account.phone}
            <input className="input" name="code" autoFocus inputMode="numeric" value={value} onChange={(e) => setValue(e.target.value)} required />
          </label>
        )}
        {step === 'password' && (
          <label className="field">
            Two-step verification password
            <input className="input" name="password" type="password" autoFocus value={value} onChange={(e) => setValue(e.target.value)} required />
          </label>
        )}
        {step === 'online' && <div className="notice" data-testid="login-online">The account is online. Its conversations will appear in the inbox.</div>}
        {error && (
          <div className="error" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <div className="toolbar" style={{ justifyContent: 'flex-end' }}>
          <button type="button" className="btn" onClick={onDone}>
            {step === 'online' || step === 'failed' ? 'Close' : 'Cancel'}
          </button>
          {(step === 'code' || step === 'password') && (
            <button className="btn primary" type="submit" disabled={busy}>
              {busy ? 'Checking…' : 'Continue'}
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
