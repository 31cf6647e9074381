// The frame around every screen: the navigation rail, the connection banner
// and the screen the path names.
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';
import { navigate, usePath } from '../router';
import { Console } from './Console';
import { AccountsPage } from './AccountsPage';
import { AgentsPage } from '../admin/AgentsPage';
import { GroupsPage } from '../admin/GroupsPage';
import { TagsPage } from '../admin/TagsPage';
import { AuditPage } from '../admin/AuditPage';
import { ArchivePage } from '../admin/ArchivePage';
import { Icon } from './Icon';
import { PasswordPage } from './PasswordPage';

interface Item {
  path: string;
  icon: string;
  label: string;
  manager?: boolean;
  admin?: boolean;
}

const ITEMS: Item[] = [
  { path: '/', icon: 'inbox', label: 'Inbox' },
  { path: '/accounts', icon: 'phone', label: 'Accounts' },
  { path: '/agents', icon: 'users', label: 'Agents', manager: true },
  { path: '/groups', icon: 'folder', label: 'Groups' },
  { path: '/tags', icon: 'tag', label: 'Tags', manager: true },
  { path: '/audit', icon: 'log', label: 'Audit', manager: true },
  { path: '/archive', icon: 'box', label: 'Archive', manager: true, admin: true },
  { path: '/password', icon: 'key', label: 'Password' },
];

export function Shell({
  desk,
  onSignOut,
  onToken,
}: {
  desk: Desk;
  onSignOut: () => void;
  /** Switches the session to a new token (after a password change). */
  onToken: (token: string) => void;
}) {
  const snap = useDesk(desk);
  const path = usePath();
  const manager = snap.me.role !== 'agent';
  const admin = snap.me.role === 'admin';
  const items = ITEMS.filter((i) => (manager || !i.manager) && (admin || !i.admin));
  const current = items.find((i) => i.path !== '/' && path.startsWith(i.path))?.path ?? '/';

  return (
    <div className="shell">
      <nav className="rail" aria-label="Main">
        {items.map((i) => (
          <a
            key={i.path}
            href={i.path}
            className={current === i.path ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate(i.path);
            }}
          >
            <span>
              <Icon name={i.icon} />
              {i.label}
            </span>
          </a>
        ))}
        <div className="spacer" />
        <span className="muted ellipsis" style={{ fontSize: 10, maxWidth: 56 }} title={snap.me.username}>
          {snap.me.username}
        </span>
        <button onClick={onSignOut} title="Sign out" data-testid="sign-out">
          <span>
            <Icon name="exit" />Sign out
          </span>
        </button>
      </nav>
      <main className="main">
        {snap.live !== 'online' && (
          <div className="banner" role="status" data-testid="live-state">
            {snap.live === 'connecting' ? 'Connecting…' : 'Reconnecting… new messages will appear once the connection is back.'}
          </div>
        )}
        {current === '/' && <Console desk={desk} />}
        {current === '/accounts' && <AccountsPage desk={desk} />}
        {current === '/agents' && <AgentsPage me={snap.me} />}
        {current === '/groups' && <GroupsPage />}
        {current === '/tags' && <TagsPage />}
        {current === '/audit' && <AuditPage />}
        {current === '/archive' && <ArchivePage />}
        {current === '/password' && <PasswordPage onToken={onToken} />}
      </main>
    </div>
  );
}
