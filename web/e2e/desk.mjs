// REST and simulator helpers for arranging what a test needs (agents,
// accounts with Telegram sessions, customers writing).
import { ADMIN_PASSWORD } from './server.mjs';
import { waitFor } from './wait.mjs';

export class DeskApi {
  constructor(server) {
    this.server = server;
  }

  async call(method, path, token, body, contentType = 'application/json') {
    const headers = { 'content-type': contentType };
    if (token) headers.authorization = `Bearer ${token}`;
    const r = await fetch(`${this.server.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    const json = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return json;
  }

  async login(username, password) {
    return (await this.call('POST', '/api/auth/login', null, { tenant: 'demo', username, password })).token;
  }

  async admin() {
    return (this.adminToken ??= await this.login('admin', ADMIN_PASSWORD));
  }

  async createAgent(username, password, role = 'agent') {
    return this.call('POST', '/api/agents', await this.admin(), { username, password, role });
  }

  /** Creates an account on the simulator and returns its session string. */
  async simAccount(phone, extra = {}) {
    const r = await fetch(`${this.server.sim}/control/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone, ...extra }),
    });
    if (!r.ok) throw new Error(`sim account ${phone}: ${r.status} ${await r.text()}`);
    return (await r.json()).session;
  }

  /** Imports CSV text as the admin; returns the report. */
  async importCsv(csv) {
    return this.call('POST', '/api/accounts/import', await this.admin(), csv, 'text/csv');
  }

  async account(phone) {
    const page = await this.call('GET', `/api/accounts?q=${encodeURIComponent(phone)}`, await this.admin());
    return page.items.find((a) => a.phone === phone);
  }

  async waitOnline(phone) {
    return waitFor(async () => (await this.account(phone))?.status === 'online', {
      what: `${phone} to come online`,
      timeout: 30_000,
    });
  }

  /** A customer writes to an account through the simulator; returns the simulator's answer (with `peer`). */
  async customerWrites(accountPhone, from, text, media) {
    const body = { account_phone: accountPhone, from, text };
    if (media) body.media = media;
    const r = await fetch(`${this.server.sim}/control/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`customer message: ${r.status} ${await r.text()}`);
    return r.json();
  }

  /** What the account sent on Telegram, as the simulator saw it. */
  async sentBy(accountPhone) {
    const r = await fetch(`${this.server.sim}/control/sent?account_phone=${encodeURIComponent(accountPhone)}`);
    if (!r.ok) throw new Error(`sent: ${r.status}`);
    return (await r.json()).items;
  }

  /** POSTs to the simulator's control API. */
  async sim_(path, body) {
    const r = await fetch(`${this.server.sim}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`sim ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  }

  async loginCode(phone) {
    const r = await fetch(`${this.server.sim}/control/login-code?phone=${encodeURIComponent(phone)}`);
    return r.ok ? (await r.json()).code : null;
  }
}
