// The typed API client: openapi-fetch over the generated `paths`, with the
// session's bearer token and API errors turned into readable messages.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../gen/schema';
import type { PresignedRequest } from './types';

let token: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** Sets the bearer token every request carries (null after logout). */
export function setToken(next: string | null) {
  token = next;
}

/** Registers what happens when the server says the token is no longer valid. */
export function setUnauthorizedHandler(handler: () => void) {
  onUnauthorized = handler;
}

/** Returns the current bearer token. */
export function currentToken(): string | null {
  return token;
}

const auth: Middleware = {
  onRequest({ request }) {
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response, request }) {
    // A 401 for a token already replaced (a request in flight across a
    // password change) says nothing about the session now.
    const current = request.headers.get('authorization') === `Bearer ${token}`;
    if (response.status === 401 && current && !request.url.endsWith('/api/auth/login')) onUnauthorized?.();
    return response;
  },
};

/** Where the API is: the page's origin, or `VITE_API_URL` for a hosted build. */
const apiBase: string = import.meta.env.VITE_API_URL ?? '';

/** The typed client. */
export const api = createClient<paths>({ baseUrl: apiBase });
api.use(auth);

/** The API's error body: `{"error":{"code","message","retry_after_s"?}}`. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string; retry_after_s?: number };
}

/** An API refusal carried as an exception, with the message meant for people. */
export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Sentences for the error codes a person can act on; other codes show the server's message. */
const WORDS: Record<string, string> = {
  phone_code_invalid: 'Telegram says the code is wrong. Check it and try again.',
  password_invalid: 'Telegram says the 2FA password is wrong.',
  fleet_timeout: 'The Telegram session did not answer in time. Try again in a moment.',
  unauthorized: 'Wrong tenant, username or password.',
};

/** Turns an API error body into a sentence for the person using the app. */
export function describeError(body: unknown, status: number): ApiFailure {
  const e = (body as ApiErrorBody | undefined)?.error;
  const code = e?.code ?? `http_${status}`;
  const raw = e?.message ?? `The server answered ${status}.`;
  let message: string;
  if (code === 'flood_wait') {
    message = `Telegram asks to wait before trying again${e?.retry_after_s ? ` (${e.retry_after_s} s)` : ''}.`;
  } else if (code === 'telegram_refused') {
    message = `Telegram refused: ${raw}`;
  } else {
    message = WORDS[code] ?? raw;
  }
  return new ApiFailure(message, code, status);
}

/** Unwraps an openapi-fetch result: the data, or an `ApiFailure` thrown. */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result;
  try {
    result = await call;
  } catch {
    throw new ApiFailure('Cannot reach the server. Check the connection.', 'network', 0);
  }
  if (result.error !== undefined || !result.response.ok) throw describeError(result.error, result.response.status);
  return result.data as T;
}

/** Fetches a binary resource of the API (media, photos) as an object URL. */
export async function blobUrl(path: string): Promise<string> {
  const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!response.ok) {
    const body = await response.json().catch(() => undefined);
    throw describeError(body, response.status);
  }
  return URL.createObjectURL(await response.blob());
}

/**
 * Uploads a file to attach to a message: announced to the API, sent straight
 * to the file store by the presigned request it answers (a deployment's API
 * takes at most 10 MB per request; files go up to 50 MiB), then completed.
 */
export async function uploadFile(file: File) {
  const content_type = file.type || 'application/octet-stream';
  const announced = await must(api.POST('/api/files/uploads', { body: { name: file.name, content_type, size: file.size } }));
  await uploadPresigned(announced.upload, file);
  return must(api.POST('/api/files/{id}/complete', { params: { path: { id: announced.file_id } } }));
}

/**
 * Sends a file with a presigned request, as signed: its method and headers,
 * except content-length, which the browser sets itself and refuses to be
 * given. No bearer token: the signature is the credential, and S3 refuses a
 * request carrying a second one. The URL is absolute (S3) or a path on the
 * API's origin (the local server).
 */
export async function uploadPresigned(upload: PresignedRequest, file: Blob) {
  const headers = Object.fromEntries(Object.entries(upload.headers).filter(([name]) => name.toLowerCase() !== 'content-length'));
  const url = upload.url.startsWith('/') ? apiBase + upload.url : upload.url;
  let response: Response;
  try {
    response = await fetch(url, { method: upload.method, headers, body: file });
  } catch {
    throw new ApiFailure('Cannot reach the file store to upload the file. Check the connection.', 'network', 0);
  }
  if (response.ok) return;
  // The local server answers the API's JSON errors; S3 answers XML, which only its status says anything about here.
  const body = await response.json().catch(() => undefined);
  if (body) throw describeError(body, response.status);
  throw new ApiFailure(`The file store refused the upload (HTTP ${response.status}).`, `http_${response.status}`, response.status);
}

const TELEGRAM_REASONS: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/FLOOD_WAIT_(\d+)/, (m) => `Telegram asks this account to wait ${m[1]} s before sending again`],
  [/SLOWMODE_WAIT_(\d+)/, (m) => `the chat's slow mode allows another message in ${m[1]} s`],
  [/PEER_FLOOD/, () => 'Telegram limits this account for now (too many messages to people who did not write first)'],
  [/CHAT_WRITE_FORBIDDEN/, () => 'this account may not write in this chat'],
  [/USER_IS_BLOCKED|YOU_BLOCKED_USER/, () => 'the customer blocked this account'],
  [/INPUT_USER_DEACTIVATED|USER_DEACTIVATED/, () => "the customer's Telegram account is deleted"],
  [/PEER_ID_INVALID|CHANNEL_PRIVATE/, () => 'this account can no longer reach the chat'],
  [/MESSAGE_TOO_LONG/, () => 'the message is too long for Telegram (4,096 characters at most)'],
  [/MEDIA_CAPTION_TOO_LONG/, () => 'the caption is too long for Telegram'],
  [/AUTH_KEY_UNREGISTERED|SESSION_REVOKED|USER_DEACTIVATED_BAN/, () => 'the account is logged out of Telegram'],
];

/** Says in words why Telegram refused a send, keeping Telegram's own code for reference. */
export function telegramReason(raw: string | null | undefined): string {
  if (!raw) return 'no reason given';
  for (const [pattern, words] of TELEGRAM_REASONS) {
    const m = raw.match(pattern);
    if (m) return `${words(m)} (${m[0]})`;
  }
  return raw;
}
