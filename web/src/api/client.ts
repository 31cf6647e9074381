// The typed API client: openapi-fetch over the generated `paths`, with the
// session's bearer token and API errors turned into readable messages.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../gen/schema';

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
    if (response.status === 401 && !request.url.endsWith('/api/auth/login')) onUnauthorized?.();
    return response;
  },
};

/** The typed client; base URL is the page's origin (or `VITE_API_URL` for a hosted build). */
export const api = createClient<paths>({ baseUrl: import.meta.env.VITE_API_URL ?? '' });
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

const WORDS: Record<string, string> = {
  phone_code_invalid: 'Telegram says the code is wrong. Check it and try again.',
  password_invalid: 'Telegram says the 2FA password is wrong.',
  flood_wait: 'Telegram asks to wait before trying again',
  fleet_timeout: 'The Telegram session did not answer in time. Try again in a moment.',
  unauthorized: 'Wrong tenant, username or password.',
};

/** Turns an API error body into a sentence for the person using the app. */
export function describeError(body: unknown, status: number): ApiFailure {
  const e = (body as ApiErrorBody | undefined)?.error;
  const code = e?.code ?? `http_${status}`;
  let message = e?.message ?? `The server answered ${status}.`;
  const words = WORDS[code];
  if (code === 'flood_wait') message = `${words}${e?.retry_after_s ? ` (${e.retry_after_s} s)` : ''}.`;
  else if (words && (code !== 'unauthorized' || status === 401)) message = code === 'telegram_refused' ? message : words;
  if (code === 'telegram_refused') message = `Telegram refused: ${e?.message ?? 'no reason given'}`;
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

/** Uploads a file to attach to a message. */
export async function uploadFile(file: File) {
  const response = await fetch(`/api/files?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'content-type': file.type || 'application/octet-stream', authorization: `Bearer ${token}` },
    body: file,
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw describeError(body, response.status);
  return body as { id: string; name: string };
}
