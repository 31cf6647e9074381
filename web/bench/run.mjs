// The web app's bench: an agent with 2,000 accounts and 100,000 dialogs (one
// of them 1,000 messages long), all written through tg-sim and ingested by
// the real server; Chromium measures the first inbox paint, opening the long
// dialog and scrolling the inbox. Usage: node bench/run.mjs [path/to/tgdesk]
// (a release build: `cargo build --release`). Writes bench/results.json.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Server, ADMIN_PASSWORD } from '../e2e/server.mjs';
import { DeskApi } from '../e2e/desk.mjs';
import { waitFor } from '../e2e/wait.mjs';

const root = path.resolve(import.meta.dirname, '..');
const binary = process.argv[2] ?? path.resolve(root, '../target/release/tgdesk');
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 2000);
const DIALOGS_PER_ACCOUNT = Number(process.env.BENCH_DIALOGS_PER_ACCOUNT ?? 50);
const LONG_DIALOG = 1000;
const RUNS = 5;
const outDir = path.resolve(root, 'test-output', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(outDir, { recursive: true });

const server = new Server({ binary, outDir });
const desk = new DeskApi(server);
const phone = (i) => `+1555300${String(i).padStart(4, '0')}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function pool(n, limit, task) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < n) await task(next++);
  }));
}

async function ingested() {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tgdesk_ingest_messages_total'));
  return Number(line?.split(' ').pop() ?? 0);
}

const t0 = Date.now();
await server.start();
console.log(`seeding ${ACCOUNTS} accounts × ${DIALOGS_PER_ACCOUNT} dialogs + one of ${LONG_DIALOG} messages…`);
await desk.createAgent('benchy', 'benchy-password');
const sessions = new Array(ACCOUNTS);
await pool(ACCOUNTS, 16, async (i) => (sessions[i] = await desk.simAccount(phone(i))));
const csv = ['phone,name,owner,session', ...sessions.map((s, i) => `${phone(i)},Bench ${i},benchy,${s}`)].join('\n');
await desk.importCsv(csv);
const admin = await desk.admin();
await waitFor(
  async () => {
    let online = 0;
    let cursor = '';
    do {
      const page = await desk.call('GET', `/api/accounts?status=online&limit=500${cursor ? `&cursor=${cursor}` : ''}`, admin);
      online += page.items.length;
      cursor = page.next_cursor ?? '';
    } while (cursor);
    return online >= ACCOUNTS;
  },
  { what: `${ACCOUNTS} accounts online`, timeout: 300_000, every: 1000 },
);
const before = await ingested();
const now = Math.floor(Date.now() / 1000);
const messages = [];
for (let i = 0; i < ACCOUNTS; i++) {
  for (let j = 0; j < DIALOGS_PER_ACCOUNT; j++) {
    const id = 1_000_000 + i * DIALOGS_PER_ACCOUNT + j;
    messages.push({ account_phone: phone(i), from: { user_id: id, name: `Customer ${id}` }, text: `Hello from ${id}`, date: now - 86_400 - ((id * 7919) % 2_500_000) });
  }
}
for (let k = 0; k < LONG_DIALOG; k++) {
  messages.push({ account_phone: phone(0), from: { user_id: 999_999, name: 'Long Talker' }, text: `Long dialog message ${k} — ${'lorem ipsum '.repeat(k % 7)}`, date: now - LONG_DIALOG + k });
}
for (let k = 0; k < messages.length; k += 5000) await desk.sim_('/control/messages/batch', { messages: messages.slice(k, k + 5000) });
await waitFor(async () => (await ingested()) - before >= messages.length, { what: `${messages.length} messages ingested`, timeout: 600_000, every: 1000 });
const seeded = (Date.now() - t0) / 1000;
console.log(`seeded in ${seeded.toFixed(0)} s`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const token = await desk.login('benchy', 'benchy-password');
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.addInitScript((t) => localStorage.setItem('tgdesk.token', t), token);
const page = await context.newPage();

// First inbox paint: from navigation start to the first dialog row on screen.
const paints = [];
for (let r = 0; r < RUNS; r++) {
  await page.goto(server.base + '/');
  await page.waitForSelector('[data-testid=dialog-row]', { timeout: 30_000 });
  paints.push(await page.evaluate(() => performance.now()));
}
await page.screenshot({ path: path.join(outDir, 'bench-inbox.png') });

// Opening the 1,000-message dialog: click to its newest page of messages painted.
const opens = [];
const fullHistory = [];
for (let r = 0; r < RUNS; r++) {
  await page.waitForSelector('[data-testid=dialog-row]');
  const ms = await page.evaluate(async () => {
    const row = [...document.querySelectorAll('[data-testid=dialog-row]')].find((el) => el.textContent.includes('Long Talker'));
    const start = performance.now();
    row.click();
    await new Promise((resolve) => {
      const check = () => (document.querySelectorAll('[data-testid=history] [data-testid=message]').length >= 50 ? resolve() : requestAnimationFrame(check));
      check();
    });
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    return performance.now() - start;
  });
  opens.push(ms);
  // Then the whole history, scrolling back.
  fullHistory.push(await page.evaluate(async (total) => {
    const start = performance.now();
    const history = document.querySelector('[data-testid=history]');
    while (document.querySelectorAll('[data-testid=history] [data-testid=message]').length < total) {
      history.scrollTop = 0;
      history.dispatchEvent(new Event('scroll'));
      await new Promise((resolve) => setTimeout(resolve, 16));
      if (performance.now() - start > 30_000) break;
    }
    return performance.now() - start;
  }, LONG_DIALOG));
  await page.keyboard.press('Escape');
  await page.locator('[data-testid=inbox-list]').focus();
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=history]', { state: 'detached' });
}
await page.screenshot({ path: path.join(outDir, 'bench-dialog.png') });

// Scrolling the inbox: 100 px a frame for 8 s (more pages load on the way).
// BENCH_TRACE=1 records a Chromium trace of the scroll (renderer, compositor,
// raster and viz threads) to the output directory, for a slow frame's cause.
const TRACE = process.env.BENCH_TRACE ? path.join(outDir, 'scroll-trace.json') : null;
if (TRACE) {
  await browser.startTracing(page, {
    path: TRACE,
    categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame',
      'blink', 'cc', 'gpu', 'viz', 'benchmark', 'toplevel', 'v8', 'loading', 'fonts', 'skia', 'disabled-by-default-cc.debug.scheduler.frames'],
  });
}
const scroll = await page.evaluate(async () => {
  const list = document.querySelector('[data-testid=inbox-list]');
  const longTasks = [];
  new PerformanceObserver((l) => longTasks.push(...l.getEntries().map((e) => Math.round(e.duration)))).observe({ type: 'longtask' });
  const frames = [];
  const start = performance.now();
  await new Promise((resolve) => {
    const step = (t) => {
      frames.push(t);
      list.scrollTop += 100;
      if (t - start < 8000) requestAnimationFrame(step);
      else resolve();
    };
    requestAnimationFrame(step);
  });
  const gaps = frames.slice(1).map((t, i) => t - frames[i]);
  const seconds = (frames.at(-1) - frames[0]) / 1000;
  // The worst half-second window.
  let worst = Infinity;
  for (let i = 0; i < frames.length; i++) {
    let j = i;
    while (j < frames.length && frames[j] - frames[i] < 500) j++;
    if (frames[i] + 500 <= frames.at(-1)) worst = Math.min(worst, (j - i) / 0.5);
  }
  return {
    fps: frames.length / seconds,
    worst_half_second_fps: worst,
    frames_over_33ms: gaps.filter((g) => g > 33.4).length,
    longest_frame_ms: Math.round(Math.max(...gaps)),
    frames_over_33ms_at: gaps.flatMap((g, i) => (g > 33.4 ? [[Math.round(frames[i] - start), Math.round(g)]] : [])),
    rows_scrolled: Math.round(list.scrollTop / 68),
    long_tasks_ms: longTasks,
    inbox_fetches_ms: performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/inbox') && e.startTime >= start)
      .map((e) => [Math.round(e.startTime - start), Math.round(e.duration)]),
    dialogs_loaded: Number(document.querySelector('[data-testid=inbox-count]').dataset.count),
  };
});
if (TRACE) await browser.stopTracing();
await page.screenshot({ path: path.join(outDir, 'bench-scrolled.png') });
await browser.close();
await server.dispose();

const result = {
  when: new Date().toISOString(),
  binary: path.basename(path.dirname(binary)),
  accounts: ACCOUNTS,
  dialogs: ACCOUNTS * DIALOGS_PER_ACCOUNT + 1,
  long_dialog_messages: LONG_DIALOG,
  seeding_seconds: Math.round(seeded),
  first_inbox_paint_ms: { median: Math.round(median(paints)), runs: paints.map(Math.round), required: 1500 },
  open_long_dialog_ms: { median: Math.round(median(opens)), runs: opens.map(Math.round), required: 300 },
  long_dialog_all_1000_by_scrolling_back_ms: { median: Math.round(median(fullHistory)), runs: fullHistory.map(Math.round) },
  inbox_scroll: { ...scroll, fps: Math.round(scroll.fps * 10) / 10, required_min_fps: 30 },
};
writeFileSync(path.join(root, 'bench', 'results.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
console.log(`screenshots: ${outDir}`);
