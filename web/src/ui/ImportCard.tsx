// Import accounts from CSV or JSON Lines: the file goes straight to the blob
// store (a presigned upload, so its size is not bound by an API request),
// then the import runs as a job whose progress shows until its report.
import { useState } from 'react';
import { api, must, uploadPresigned } from '../api/client';
import { followJob } from '../api/jobs';
import type { ImportFormat, ImportReport, JobView } from '../api/types';
import { useUnmountSignal } from './useUnmountSignal';

type Stage =
  | { step: 'idle' }
  | { step: 'uploading'; file: string }
  | { step: 'importing'; file: string; job: JobView }
  /** The job ended, done or failed; a failed one may have imported some lines. */
  | { step: 'ended'; job: JobView }
  /** The upload or the start was refused. */
  | { step: 'refused'; error: string };

/** The format the server reads the file as, told by its extension. */
export function formatOf(fileName: string): ImportFormat {
  return /\.(jsonl|ndjson)$/i.test(fileName) ? 'json_lines' : 'csv';
}

const readImport = (id: string) => must(api.GET('/api/imports/{id}', { params: { path: { id } } }));

export function ImportCard({ onImported }: { onImported: () => void }) {
  const [stage, setStage] = useState<Stage>({ step: 'idle' });
  const signal = useUnmountSignal();
  const busy = stage.step === 'uploading' || stage.step === 'importing';

  async function importFile(file: File) {
    setStage({ step: 'uploading', file: file.name });
    try {
      const { job, upload } = await must(api.POST('/api/imports', { body: { format: formatOf(file.name), size: file.size } }));
      await uploadPresigned(upload, file);
      const started = await must(api.POST('/api/imports/{id}/start', { params: { path: { id: job.id } } }));
      const importing = (job: JobView) => setStage({ step: 'importing', file: file.name, job });
      importing(started);
      const end = await followJob(started, { read: readImport, onProgress: importing, signal: signal() });
      setStage({ step: 'ended', job: end });
      onImported();
    } catch (e) {
      setStage({ step: 'refused', error: (e as Error).message });
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
        disabled={busy}
        onChange={(e) => {
          const file = e.target.files?.[0];
          // Cleared, so choosing the same file again (a re-import) is a change too.
          e.target.value = '';
          if (file) void importFile(file);
        }}
      />
      {stage.step === 'uploading' && <div className="notice">Uploading {stage.file}…</div>}
      {stage.step === 'importing' && <ImportProgress file={stage.file} job={stage.job} />}
      {stage.step === 'refused' && <div className="error">{stage.error}</div>}
      {stage.step === 'ended' && stage.job.state === 'failed' && (
        <div className="error">The import failed: {stage.job.error ?? 'no reason given'}</div>
      )}
      {stage.step === 'ended' && stage.job.report && <Report report={stage.job.report} />}
    </div>
  );
}

function ImportProgress({ file, job }: { file: string; job: JobView }) {
  const total = job.total ?? undefined;
  return (
    <div className="notice" data-testid="import-progress" role="status" style={{ display: 'flex', flexDirection: 'column', gap: 6 }}>
      <span>
        {job.state === 'running'
          ? `Importing ${file}: ${job.processed.toLocaleString()}${total ? ` / ${total.toLocaleString()}` : ''} lines`
          : `${file} is waiting for its turn…`}
      </span>
      {/* Without a total yet the bar has no value: the browser shows it as busy. */}
      <progress max={total} value={total ? job.processed : undefined} style={{ width: '100%' }} />
    </div>
  );
}

function Report({ report }: { report: ImportReport }) {
  const unlisted = report.rejected_count - report.rejected.length;
  return (
    <div data-testid="import-report" style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
      <div className="notice">
        {report.imported} imported · {report.unchanged} unchanged · {report.rejected_count} rejected
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
      {unlisted > 0 && <div className="muted">The first {report.rejected.length} rejected lines are listed; {unlisted} more were rejected.</div>}
    </div>
  );
}
