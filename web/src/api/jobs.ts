// Jobs: the server runs imports and the deletes that cascade in the
// background. Here: following a job until it ends, and the deletes whose
// answer is either "done" or the job still running.
import { api, ApiFailure, must } from './client';
import type { JobView } from './types';

/** How often a running job is read again. */
export const POLL_MS = 500;

/** Whether the job has ended, either way. */
export function hasEnded(job: JobView): boolean {
  return job.state === 'done' || job.state === 'failed';
}

/** Reads any job of the caller. */
export const readJob = (id: string) => must(api.GET('/api/jobs/{id}', { params: { path: { id } } }));

export interface FollowOptions {
  /** Reads the job's current view (default: `GET /api/jobs/{id}`). */
  read?: (id: string) => Promise<JobView>;
  /** Called with every view read while following. */
  onProgress?: (job: JobView) => void;
  /** Stops following: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds between reads. */
  every?: number;
}

/**
 * Reads `job` again every `every` ms until it is done or failed and returns
 * that last view. A read that the network or the server failed (status 0 or
 * 5xx: a restart, a deploy) is tried again at the next tick, since the job
 * runs on whether anyone watches it; any other refusal is thrown.
 */
export async function followJob(job: JobView, { read = readJob, onProgress, signal, every = POLL_MS }: FollowOptions = {}): Promise<JobView> {
  let current = job;
  while (!hasEnded(current)) {
    await pause(every, signal);
    try {
      current = await read(current.id);
    } catch (e) {
      if (e instanceof ApiFailure && (e.status === 0 || e.status >= 500)) continue;
      throw e;
    }
    onProgress?.(current);
  }
  return current;
}

/** A DELETE whose answer is `{ok}` once the thing is gone, or 202 with the job still deleting it. */
export type DeleteCall = Promise<{ data?: { ok: boolean } | JobView; error?: unknown; response: Response }>;

/** Sends a delete: null when it is done, else the job that goes on in the background. */
export async function startDelete(call: DeleteCall): Promise<JobView | null> {
  const answer = await must(call);
  return 'state' in answer ? answer : null;
}

/** Follows a delete's job to its end; a job that failed throws its reason. */
export async function finishDelete(job: JobView, options: FollowOptions = {}): Promise<void> {
  const end = await followJob(job, options);
  if (end.state === 'failed') throw new ApiFailure(end.error ?? 'The delete failed.', 'job_failed', 409);
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    // The listener goes with the pause: a long job's hundreds of pauses share one signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
