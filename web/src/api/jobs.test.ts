import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiFailure, uploadPresigned } from './client';
import { finishDelete, followJob, startDelete } from './jobs';
import type { JobView, PresignedRequest } from './types';

const baseUrl = 'http://desk.test';

function job(patch: Partial<JobView> = {}): JobView {
  return {
    id: 'job_1',
    kind: { type: 'delete_tag', tag: 'tag_1' },
    state: 'queued',
    processed: 0,
    created_at: '2026-01-01T12:00:00Z',
    updated_at: '2026-01-01T12:00:00Z',
    ...patch,
  };
}

/** A server that answers every request with the next of `answers` (status and JSON body). */
function fakeFetch(...answers: [number, unknown][]) {
  const seen: string[] = [];
  const fetch = async (request: Request) => {
    seen.push(`${request.method} ${new URL(request.url).pathname}`);
    const [status, body] = answers.shift()!;
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, seen };
}

/** Reads answering the given views (or throwing the given failures) in turn. */
function reads(...answers: (JobView | Error)[]) {
  const ids: string[] = [];
  const read = async (id: string) => {
    ids.push(id);
    const next = answers.shift()!;
    if (next instanceof Error) throw next;
    return next;
  };
  return { read, ids };
}

const deleteTag = (fetch: (r: Request) => Promise<Response>) => api.DELETE('/api/tags/{id}', { params: { path: { id: 'tag_1' } }, baseUrl, fetch });

describe('a delete that may run as a job', () => {
  it('is done at once on 200', async () => {
    const server = fakeFetch([200, { ok: true }]);
    expect(await startDelete(deleteTag(server.fetch))).toBeNull();
    expect(server.seen).toEqual(['DELETE /api/tags/tag_1']);
  });

  it('answers the job on 202, and is done when its job is', async () => {
    const server = fakeFetch([202, job()], [200, job({ state: 'running' })], [200, job({ state: 'done' })]);
    const running = await startDelete(deleteTag(server.fetch));
    expect(running?.state).toBe('queued');
    const read = (id: string) => api.GET('/api/jobs/{id}', { params: { path: { id } }, baseUrl, fetch: server.fetch }).then((r) => r.data!);
    await finishDelete(running!, { read, every: 0 });
    expect(server.seen).toEqual(['DELETE /api/tags/tag_1', 'GET /api/jobs/job_1', 'GET /api/jobs/job_1']);
  });

  it('throws the job’s reason when it failed, in the background or within the wait (409)', async () => {
    const { read } = reads(job({ state: 'failed', error: 'the store is down' }));
    await expect(finishDelete(job(), { read, every: 0 })).rejects.toThrow('the store is down');
    const server = fakeFetch([409, { error: { code: 'job_failed', message: 'the store is down' } }]);
    await expect(startDelete(deleteTag(server.fetch))).rejects.toMatchObject({ code: 'job_failed', message: 'the store is down' });
  });
});

describe('following a job', () => {
  it('reads it until it ends, reporting each view', async () => {
    const { read, ids } = reads(job({ state: 'running', processed: 1 }), job({ state: 'running', processed: 2 }), job({ state: 'done', processed: 3 }));
    const seen: number[] = [];
    const end = await followJob(job(), { read, every: 0, onProgress: (j) => seen.push(j.processed) });
    expect(end.state).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
    expect(ids).toEqual(['job_1', 'job_1', 'job_1']);
  });

  it('does not read a job that has already ended', async () => {
    const { read, ids } = reads();
    expect((await followJob(job({ state: 'failed' }), { read, every: 0 })).state).toBe('failed');
    expect(ids).toEqual([]);
  });

  it('reads again after a network or server failure, but not after a refusal', async () => {
    const { read } = reads(new ApiFailure('down', 'network', 0), new ApiFailure('restarting', 'http_502', 502), job({ state: 'done' }));
    expect((await followJob(job(), { read, every: 0 })).state).toBe('done');
    const refused = reads(new ApiFailure('no such job', 'not_found', 404));
    await expect(followJob(job(), { read: refused.read, every: 0 })).rejects.toThrow('no such job');
  });

  it('stops when its signal aborts', async () => {
    const stop = new AbortController();
    const { read, ids } = reads(job({ state: 'running' }), job({ state: 'running' }));
    const following = followJob(job(), { read, every: 5, signal: stop.signal, onProgress: () => stop.abort() });
    await expect(following).rejects.toThrow();
    expect(ids).toEqual(['job_1']);
  });
});

describe('a presigned upload', () => {
  const upload: PresignedRequest = {
    method: 'PUT',
    url: '/api/blobs/token-1',
    headers: { 'content-type': 'text/csv', 'content-length': '11' },
    expires_at: '2026-01-01T12:15:00Z',
  };
  afterEach(() => vi.unstubAllGlobals());

  it('is sent as signed, without content-length (the browser’s) and without the bearer token', async () => {
    const sent: { url: string; init: RequestInit }[] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      sent.push({ url, init });
      return new Response(null, { status: 200 });
    });
    const file = new Blob(['phone,name\n']);
    await uploadPresigned(upload, file);
    expect(sent).toEqual([{ url: '/api/blobs/token-1', init: { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: file } }]);
  });

  it('says why it was refused: the API’s error, or the file store’s status', async () => {
    vi.stubGlobal('fetch', async () => new Response('{"error":{"code":"signature_mismatch","message":"send the content type and length the request was signed for"}}', { status: 403 }));
    await expect(uploadPresigned(upload, new Blob())).rejects.toThrow('send the content type and length the request was signed for');
    vi.stubGlobal('fetch', async () => new Response('<Error><Code>AccessDenied</Code></Error>', { status: 403 }));
    await expect(uploadPresigned(upload, new Blob())).rejects.toThrow('The file store refused the upload (HTTP 403).');
    vi.stubGlobal('fetch', async () => Promise.reject(new TypeError('Failed to fetch')));
    await expect(uploadPresigned(upload, new Blob())).rejects.toThrow('Cannot reach the file store');
  });
});
