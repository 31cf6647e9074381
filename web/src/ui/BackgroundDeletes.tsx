// Deletes that the server may finish in the background (202 with a job):
// the page says so while they run and goes on once they end.
import { useCallback, useState } from 'react';
import { finishDelete, startDelete, type DeleteCall } from '../api/jobs';
import { useUnmountSignal } from './useUnmountSignal';

/**
 * `remove(call)` resolves once the thing is gone (at once, or when its job
 * is done) and throws the refusal or the job's failure; `running` says
 * whether a delete still goes on in the background.
 */
export function useBackgroundDeletes() {
  const signal = useUnmountSignal();
  const [running, setRunning] = useState(0);
  const remove = useCallback(
    async (call: DeleteCall) => {
      const job = await startDelete(call);
      if (!job) return;
      setRunning((n) => n + 1);
      try {
        await finishDelete(job, { signal: signal() });
      } finally {
        setRunning((n) => n - 1);
      }
    },
    [signal],
  );
  return { remove, running: running > 0 };
}

export function DeletingNotice({ running }: { running: boolean }) {
  return running ? (
    <div className="notice" role="status" data-testid="deleting">
      Deleting… (runs in the background)
    </div>
  ) : null;
}
