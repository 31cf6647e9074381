// Batch reply: one text (and files) to the selected dialogs, with each
// target's progress as the sends go out.
import { useEffect, useState } from 'react';
import { api, must, telegramReason, uploadFile } from '../api/client';
import type { BatchView } from '../api/types';
import type { Desk } from '../state/desk';
import { useDesk } from '../state/useDesk';

export function BatchReply({ desk, targets, onClose }: { desk: Desk; targets: string[]; onClose: () => void }) {
  const snap = useDesk(desk);
  const [text, setText] = useState('');
  const [files, setFiles] = useState<{ id: string; name: string }[]>([]);
  const [batch, setBatch] = useState<BatchView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const progress = batch ? snap.batches[batch.batch.id] : undefined;

  // Each progress event refreshes the per-target list.
  useEffect(() => {
    if (!batch) return;
    must(api.GET('/api/batch-sends/{id}', { params: { path: { id: batch.batch.id }, query: { limit: 500 } } }))
      .then(setBatch)
      .catch((e) => setError((e as Error).message));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [progress?.counts?.sent, progress?.counts?.failed, progress?.done]);

  async function start() {
    setBusy(true);
    setError(null);
    try {
      const list = targets.map((k) => {
        const d = snap.inbox.byKey.get(k)!;
        return { account_id: d.account_id, peer: d.peer };
      });
      setBatch(
        await must(api.POST('/api/batch-sends', { body: { targets: list, text, files: files.map((f) => f.id) } })),
      );
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const counts = progress?.counts ?? batch?.counts ?? {};
  const total = batch?.batch.targets ?? targets.length;
  const sent = counts.sent ?? 0;
  const failed = counts.failed ?? 0;
  const done = progress?.done ?? batch?.done ?? false;

  return (
    <div className="modal-back" onClick={onClose}>
      <div className="modal" onClick={(e) => e.stopPropagation()} role="dialog" aria-label="Batch reply">
        <h2>Reply to {targets.length} dialogs</h2>
        {!batch ? (
          <>
            <textarea className="input" rows={4} value={text} onChange={(e) => setText(e.target.value)} placeholder="Message" autoFocus />
            <input
              type="file"
              multiple
              onChange={async (e) => {
                for (const f of Array.from(e.target.files ?? [])) {
                  try {
                    const ref = await uploadFile(f);
                    setFiles((x) => [...x, { id: ref.id, name: f.name }]);
                  } catch (err) {
                    setError((err as Error).message);
                  }
                }
              }}
            />
            <div className="chips">
              {files.map((f) => (
                <span className="chip" key={f.id}>
                  📎 {f.name}
                </span>
              ))}
            </div>
            {error && <div className="error">{error}</div>}
            <div className="toolbar" style={{ justifyContent: 'flex-end' }}>
              <button className="btn" onClick={onClose}>
                Cancel
              </button>
              <button className="btn primary" disabled={busy || (!text.trim() && files.length === 0)} onClick={start}>
                Send to {targets.length}
              </button>
            </div>
          </>
        ) : (
          <>
            <div className="progress" aria-label="progress">
              <div className="sent" style={{ width: `${(100 * sent) / total}%` }} />
              <div className="failed" style={{ width: `${(100 * failed) / total}%` }} />
            </div>
            <div data-testid="batch-summary">
              {sent} sent · {failed} failed · {total - sent - failed} waiting {done ? '— done' : ''}
            </div>
            <table className="grid">
              <thead>
                <tr>
                  <th>Dialog</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {batch.sends.items.map((s) => {
                  const d = snap.inbox.byKey.get(`${s.account_id}:${s.peer}`);
                  return (
                    <tr key={s.id}>
                      <td className="ellipsis">{d?.title ?? s.peer}</td>
                      <td>
                        <span className={`status ${s.status === 'sent' ? 'online' : s.status === 'failed' ? 'error' : 'connecting'}`}>
                          {s.status}
                          {s.error ? `: ${telegramReason(s.error)}` : ''}
                        </span>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {error && <div className="error">{error}</div>}
            <div className="toolbar" style={{ justifyContent: 'flex-end' }}>
              <button className="btn primary" onClick={onClose}>
                Close
              </button>
            </div>
          </>
        )}
      </div>
    </div>
  );
}
