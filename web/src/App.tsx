// The app's root: restores the session, shows the login or the shell.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, must, setToken, setUnauthorizedHandler } from './api/client';
import type { AgentView } from './api/types';
import { Login } from './ui/Login';
import { Shell } from './ui/Shell';
import { Desk } from './state/desk';

const STORAGE = 'tgdesk.token';

interface Session {
  token: string;
  me: AgentView;
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(true);

  const signOut = useCallback(() => {
    localStorage.removeItem(STORAGE);
    setToken(null);
    setSession(null);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(signOut);
    const token = localStorage.getItem(STORAGE);
    if (!token) {
      setRestoring(false);
      return;
    }
    setToken(token);
    must(api.GET('/api/me'))
      .then((me) => setSession({ token, me }))
      .catch(() => signOut())
      .finally(() => setRestoring(false));
  }, [signOut]);

  const signedIn = useCallback((token: string, me: AgentView) => {
    localStorage.setItem(STORAGE, token);
    setToken(token);
    setSession({ token, me });
  }, []);

  const desk = useMemo(() => (session ? new Desk(session.me, session.token) : null), [session]);
  useEffect(() => {
    if (!desk) return;
    desk.start(location.origin);
    return () => desk.stop();
  }, [desk]);

  if (restoring) return <div className="empty">Loading…</div>;
  if (!session || !desk) return <Login onSignedIn={signedIn} />;
  return <Shell desk={desk} onSignOut={signOut} onToken={(token) => signedIn(token, session.me)} />;
}
