// The tenant's cold archive (admins): how much it holds and the windows in
// force — days in the hot store, days until archived messages are deleted.
import { useEffect, useState } from 'react';
import { api, must } from '../api/client';
import type { ArchiveView } from '../api/types';

/** Bytes in the largest unit that keeps the number at or above 1. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function ArchivePage() {
  const [view, setView] = useState<ArchiveView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    must(api.GET('/api/admin/archive'))
      .then(setView)
      .catch((e) => setError((e as Error).message));
  }, []);

  return (
    <div className="page">
      <h1>Archive</h1>
      {error && <p className="error" role="alert">{error}</p>}
      {view && (
        <table className="table" data-testid="archive-table">
          <tbody>
            <tr>
              <th>Messages archived</th>
              <td data-testid="archive-messages">{view.messages.toLocaleString()}</td>
            </tr>
            <tr>
              <th>Stored in</th>
              <td>
                {view.objects.toLocaleString()} objects, {formatBytes(view.bytes)} compressed
              </td>
            </tr>
            <tr>
              <th>Hot window</th>
              <td data-testid="archive-hot-days">
                {view.policy.hot_days} days: older messages move to the archive and stay readable
              </td>
            </tr>
            <tr>
              <th>Retention</th>
              <td data-testid="archive-retention">
                {view.policy.retention_days == null
                  ? 'kept for ever'
                  : `deleted ${view.policy.retention_days} days after their date, a month at a time`}
              </td>
            </tr>
          </tbody>
        </table>
      )}
    </div>
  );
}
