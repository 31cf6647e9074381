// Import accounts from CSV or JSON Lines, with the rejected lines listed.
import { useState } from 'react';
import { api, must } from '../api/client';
import type { ImportReport } from '../api/types';

export function ImportCard({ onImported }: { onImported: () => void }) {
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function upload(file: File) {
    setBusy(`Importing ${file.name}…`);
    setError(null);
    setReport(null);
    const jsonl = /\.(jsonl|ndjson)$/i.test(file.name);
    try {
      const text = await file.text();
      const result = await must(
        api.POST('/api/accounts/import', {
          body: text,
          bodySerializer: (b: string) => b,
          headers: { 'content-type': jsonl ? 'application/x-ndjson' : 'text/csv' },
        }),
      );
      setReport(result);
      onImported();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="card" data-testid="import-card">
      <h2>Import accounts</h2>
      <div className="muted" style={{ fontSize: 13 }}>
        CSV with a header <code>phone,name,tags,group,owner,session</code> or JSON Lines with the same fields. Tags are
        separated by <code>;</code>.
      </div>
      <input
        type="file"
        accept=".csv,.jsonl,.ndjson,text/csv"
        data-testid="import-file"
        onChange={(e) => e.target.files?.[0] && void upload(e.target.files[0])}
      />
      {busy && <div className="notice">{busy}</div>}
      {error && <div className="error">{error}</div>}
      {report && (
        <div data-testid="import-report" style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
          <div className="notice">
            {report.imported} imported · {report.unchanged} unchanged · {report.rejected.length} rejected
          </div>
          {report.rejected.length > 0 && (
            <table className="grid">
              <thead>
                <tr>
                  <th style={{ width: 70 }}>Line</th>
                  <th>Why it was rejected</th>
                </tr>
              </thead>
              <tbody>
                {report.rejected.map((r) => (
                  <tr key={r.line} data-testid="rejected-line">
                    <td>{r.line}</td>
                    <td>{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}
