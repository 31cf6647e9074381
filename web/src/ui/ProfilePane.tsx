// Who the customer is, beside the dialog.
import { useEffect, useState } from 'react';
import { api, blobUrl, must } from '../api/client';
import type { ProfileView } from '../api/types';
import { Avatar } from './Avatar';

export function ProfilePane({ accountId, peer }: { accountId: string; peer: number }) {
  const [profile, setProfile] = useState<ProfileView | null>(null);
  const [photo, setPhoto] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    let url: string | null = null;
    must(api.GET('/api/accounts/{id}/dialogs/{peer}/profile', { params: { path: { id: accountId, peer } } }))
      .then((p) => {
        if (!live) return;
        setProfile(p);
        if (p.photo_id != null) {
          blobUrl(`/api/accounts/${encodeURIComponent(accountId)}/dialogs/${peer}/profile/photo`)
            .then((u) => {
              url = u;
              if (live) setPhoto(u);
            })
            .catch(() => undefined);
        }
      })
      .catch((e) => live && setError((e as Error).message));
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [accountId, peer]);

  if (error) return <aside className="profile muted">{error}</aside>;
  if (!profile) return <aside className="profile muted">Loading profile…</aside>;
  const name = [profile.first_name, profile.last_name].filter(Boolean).join(' ') || profile.title;
  return (
    <aside className="profile" aria-label="Customer" data-testid="profile">
      <Avatar className="big" seed={peer} title={name} src={photo} />
      <h3>{name}</h3>
      <dl className="kv">
        {profile.username && (
          <>
            <dt>Username</dt>
            <dd>@{profile.username}</dd>
          </>
        )}
        {profile.phone && (
          <>
            <dt>Phone</dt>
            <dd>{profile.phone}</dd>
          </>
        )}
        <dt>Kind</dt>
        <dd>{profile.kind}</dd>
        <dt>Contact</dt>
        <dd>{profile.is_contact ? 'yes' : 'no'}</dd>
        <dt>Telegram id</dt>
        <dd>{profile.peer}</dd>
        {profile.synced_at && (
          <>
            <dt>Synced</dt>
            <dd>{new Date(profile.synced_at).toLocaleString()}</dd>
          </>
        )}
      </dl>
    </aside>
  );
}
