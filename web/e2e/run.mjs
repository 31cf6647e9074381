// Browser tests: headless Chromium (Debian's) driven by playwright-core
// against the real tgdesk server with its embedded Telegram simulator.
// Usage: node e2e/run.mjs [path/to/tgdesk]; screenshots go to test-output/.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { Server, ADMIN_PASSWORD } from './server.mjs';
import { DeskApi } from './desk.mjs';
import { waitFor } from './wait.mjs';
import { CuttableProxy } from './proxy.mjs';
import { searchTests } from './search.mjs';

const root = path.resolve(import.meta.dirname, '..');
const binary = process.argv[2] ?? path.resolve(root, '../target/debug/tgdesk');
const outDir = path.resolve(root, 'test-output', new Date().toISOString().replace(/[:.]/g, '-'));
mkdirSync(outDir, { recursive: true });

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const UI_TIMEOUT = 20_000;

const server = new Server({ binary, outDir });
const desk = new DeskApi(server);
let browser;
const results = [];

async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, `${name}.png`) });
}

/** A fresh browser context (its own storage) signed in as `username`. */
async function signIn(username, password, screenshot) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(server.base + '/');
  await page.fill('input[name=tenant]', 'demo');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  if (screenshot) await shot(page, screenshot);
  await page.click('button[type=submit]');
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  return page;
}

const row = (page, title) => page.locator('[data-testid=dialog-row]', { hasText: title });
const message = (page, text) => page.locator('[data-testid=history] [data-testid=message]', { hasText: text });

async function test(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - started, error: e });
    const n = results.length;
    for (const [who, page] of [['amy', amy], ['admin', admin]]) {
      if (page) await shot(page, `FAILED-${n}-${who}`).catch(() => undefined);
    }
    console.log(`FAIL ${name}\n     ${e.stack ?? e}`);
  }
}

// Arrange: what every test shares.
const AMY = { username: 'amy', password: 'amy-password-1' };
const BOB = { username: 'bob', password: 'bob-password-1' };
const AMY_PHONE = '+15550101001';
const BOB_PHONE = '+15550101002';
const NEW_PHONE = '+15550101003';
const TWO_FA_PHONE = '+15550101004';
const CUSTOMER = { user_id: 7001, name: 'Ольга 王 🌸 Petrova-Сидоренко' };
const LONG_TEXT = 'Здравствуйте! 你好，我想了解一下订单的情况。 The parcel has not arrived yet 📦🚚 ' + 'очень-длинное-слово-без-пробелов'.repeat(4);

let amy;
let admin;

try {
  await server.start();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  browser.on('disconnected', () => console.log('chromium exited before the tests ended (crashed or killed)'));

  await test('the served OpenAPI document matches web/openapi.json (the generated client cannot drift)', async () => {
    const served = await (await fetch(`${server.base}/api/openapi.json`)).json();
    const checkedIn = JSON.parse(readFileSync(path.join(root, 'openapi.json'), 'utf8'));
    if (!isDeepStrictEqual(served, checkedIn)) {
      throw new Error('web/openapi.json is stale: run `npm run openapi:update` in web/ (with the server running) and commit it');
    }
  });

  await test('the server answers the app for the app’s own paths and JSON 404 for unknown API paths', async () => {
    const page = await (await fetch(`${server.base}/accounts`)).text();
    if (!page.includes('<div id="root">')) throw new Error('GET /accounts did not answer index.html');
    const api = await fetch(`${server.base}/api/no-such-route`);
    if (api.status !== 404 || !(await api.json()).error) throw new Error('unknown API path did not answer a JSON 404');
  });

  // Accounts with real sessions on the simulator, owned by amy and bob.
  await desk.createAgent(AMY.username, AMY.password);
  await desk.createAgent(BOB.username, BOB.password);
  const amySession = await desk.simAccount(AMY_PHONE);
  const bobSession = await desk.simAccount(BOB_PHONE);
  await desk.importCsv(`phone,name,owner,session\n${AMY_PHONE},Amy Sales,amy,${amySession}\n${BOB_PHONE},Bob Sales,bob,${bobSession}\n`);
  await desk.waitOnline(AMY_PHONE);
  await desk.waitOnline(BOB_PHONE);

  await test('an agent signs in; a message a customer writes appears live in the inbox and in the dialog', async () => {
    amy = await signIn(AMY.username, AMY.password, 'login');
    await amy.getByText('No conversations yet.').waitFor();
    await desk.customerWrites(AMY_PHONE, CUSTOMER, LONG_TEXT);
    await row(amy, 'Ольга').waitFor();
    await row(amy, 'Ольга').locator('[data-testid=unread]').waitFor();
    await shot(amy, 'inbox');
    await row(amy, 'Ольга').click();
    await message(amy, 'Здравствуйте').waitFor();
    await amy.locator('[data-testid=profile]').getByText('Ольга').waitFor();
    await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Second message, live');
    await message(amy, 'Second message, live').waitFor();
    // Opening the dialog read it: the badge goes.
    await waitFor(async () => (await row(amy, 'Ольга').locator('[data-testid=unread]').count()) === 0, { what: 'the unread badge to clear' });
    await shot(amy, 'dialog');
  });

  await test('the agent replies with text and a file, and the customer receives both', async () => {
    const composer = amy.locator('[data-testid=composer]');
    await composer.fill('Hello Ольга, we are on it');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('— second line');
    await composer.press('Enter');
    await message(amy, 'we are on it').waitFor();
    await amy.locator('[data-testid=file-input]').setInputFiles({
      name: 'invoice.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('Invoice 42: 3 parcels'),
    });
    await amy.locator('[data-testid=attached]', { hasText: 'invoice.txt' }).waitFor();
    await composer.fill('Your invoice');
    await composer.press('Enter');
    const sent = await waitFor(
      async () => {
        const items = await desk.sentBy(AMY_PHONE);
        const text = items.find((i) => i.text === 'Hello Ольга, we are on it\n— second line');
        const file = items.find((i) => i.media?.name === 'invoice.txt');
        return text && file ? { text, file } : null;
      },
      { what: 'the simulator to receive the text and the file' },
    );
    if (Buffer.from(sent.file.media.bytes_b64, 'base64').toString() !== 'Invoice 42: 3 parcels') throw new Error('file bytes differ');
    await message(amy, 'Your invoice').waitFor();
    await waitFor(async () => (await amy.locator('[data-testid=pending]').count()) === 0, { what: 'pending sends to settle into the history' });
  });

  await test('a photo from the customer is shown inline, fetched through the media endpoint', async () => {
    const png = readFileSync(path.join(import.meta.dirname, 'photo.png')).toString('base64');
    await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Here is the damaged box', { kind: 'photo', name: 'box.png', bytes_b64: png });
    const img = message(amy, 'damaged box').locator('[data-testid=media-img]');
    await img.waitFor();
    await waitFor(async () => img.evaluate((el) => el.complete && el.naturalWidth > 0), { what: 'the photo to load' });
    await shot(amy, 'dialog-photo');
  });

  await test('the customer’s edit and delete show in the open dialog live', async () => {
    const { peer, message_id } = await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Typo mesage');
    await message(amy, 'Typo mesage').waitFor();
    await desk.sim_(`/control/messages/${peer}/${message_id}/edit`, { account_phone: AMY_PHONE, text: 'Fixed message' });
    await message(amy, 'Fixed message').getByText('edited').waitFor();
    await desk.sim_(`/control/messages/${peer}/${message_id}/delete`, { account_phone: AMY_PHONE });
    await amy.locator(`[data-testid=message][data-id="${message_id}"].deleted`).waitFor();
    await message(amy, 'Fixed message').getByText('deleted').waitFor();
  });

  await test('the agent replies to a message, the reply quotes it, and Telegram gets the reply_to', async () => {
    const { message_id } = await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Which size fits me?');
    const asked = message(amy, 'Which size fits me?');
    await asked.hover();
    await asked.getByRole('button', { name: 'Reply' }).click();
    await amy.locator('.composer').getByText('Replying to: Which size fits me?').waitFor();
    await amy.locator('[data-testid=composer]').fill('Size M fits');
    await amy.locator('[data-testid=composer]').press('Enter');
    await message(amy, 'Size M fits').locator('.quote', { hasText: 'Which size fits me?' }).waitFor();
    await waitFor(
      async () => (await desk.sentBy(AMY_PHONE)).some((i) => i.text === 'Size M fits' && i.reply_to === message_id),
      { what: 'the simulator to get the reply with reply_to' },
    );
  });

  await test('a send Telegram refuses shows as failed, with the reason in words', async () => {
    await desk.sim_('/control/flood', { account_phone: AMY_PHONE, method: 'messages.sendMessage', error: 'CHAT_WRITE_FORBIDDEN' });
    await amy.locator('[data-testid=composer]').fill('This one will be refused');
    await amy.locator('[data-testid=composer]').press('Enter');
    const failed = amy.locator('[data-testid=pending]', { hasText: 'This one will be refused' });
    await failed.getByText('not sent: this account may not write in this chat (CHAT_WRITE_FORBIDDEN)').waitFor();
    await shot(amy, 'send-failed');
  });

  await test('pin moves a dialog to the top and unpin moves it back', async () => {
    await desk.customerWrites(AMY_PHONE, { user_id: 7010, name: 'Newer Customer' }, 'I am the newest');
    await row(amy, 'Newer Customer').waitFor();
    const order = () =>
      amy.locator('[data-testid=dialog-row]').evaluateAll((rows) =>
        rows.sort((a, b) => Number(a.dataset.top) - Number(b.dataset.top)).map((r) => r.querySelector('.title').textContent),
      );
    await waitFor(async () => (await order())[0] === 'Newer Customer', { what: 'the newest dialog on top' });
    await amy.getByTestId('pin').click();
    await waitFor(async () => (await order())[0].startsWith('Ольга'), { what: 'the pinned dialog on top' });
    await row(amy, 'Ольга').getByTitle('Pinned').waitFor();
    await amy.getByTestId('pin').getByText('Unpin').click();
    await waitFor(async () => (await order())[0] === 'Newer Customer', { what: 'the unpinned dialog back in place' });
  });

  await test('after a server restart the app shows it is reconnecting, resumes, and loses no message', async () => {
    await server.stop();
    await amy.locator('[data-testid=live-state]').getByText('Reconnecting').waitFor();
    await shot(amy, 'reconnecting');
    await server.start();
    await desk.waitOnline(AMY_PHONE);
    await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Written right after the restart');
    await message(amy, 'Written right after the restart').waitFor({ timeout: 30_000 });
    await amy.locator('[data-testid=live-state]').waitFor({ state: 'detached', timeout: 30_000 });
    await desk.customerWrites(AMY_PHONE, CUSTOMER, 'And one more once back');
    await message(amy, 'And one more once back').waitFor();
    for (const text of ['Здравствуйте', 'Second message, live', 'we are on it', 'Your invoice', 'damaged box']) {
      if ((await message(amy, text).count()) !== 1) throw new Error(`message "${text}" is not shown exactly once`);
    }
    if (amy.errors.length) throw new Error(`page errors: ${amy.errors.join('; ')}`);
  });

  await test('a dropped connection resumes with since= and delivers what was missed, once', async () => {
    const proxy = new CuttableProxy(server.port);
    const base = await proxy.listen();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(UI_TIMEOUT);
      const urls = [];
      page.on('websocket', (ws) => urls.push(ws.url()));
      await page.goto(base + '/');
      await page.fill('input[name=username]', AMY.username);
      await page.fill('input[name=password]', AMY.password);
      await page.click('button[type=submit]');
      await row(page, 'Ольга').click();
      // An event first, so the client has a seq to resume after.
      await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Before the drop');
      await message(page, 'Before the drop').waitFor();
      proxy.cut();
      await page.locator('[data-testid=live-state]').getByText('Reconnecting').waitFor();
      await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Missed while cut off 1');
      await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Missed while cut off 2');
      await message(amy, 'Missed while cut off 2').waitFor();
      proxy.restore();
      await message(page, 'Missed while cut off 2').waitFor({ timeout: 30_000 });
      await page.locator('[data-testid=live-state]').waitFor({ state: 'detached' });
      if (!urls.some((u) => /[?&]since=\d+/.test(u))) throw new Error(`no reconnect with since=: ${urls.join(', ')}`);
      for (const text of ['Before the drop', 'Missed while cut off 1', 'Missed while cut off 2']) {
        if ((await message(page, text).count()) !== 1) throw new Error(`"${text}" is not shown exactly once`);
      }
    } finally {
      proxy.close();
      await context.close();
    }
  });

  await test('an admin imports a CSV with a broken line, sees it reported, assigns an account, and the agent sees it appear', async () => {
    const session = await desk.simAccount(NEW_PHONE);
    admin = await signIn('admin', ADMIN_PASSWORD);
    await admin.getByRole('link', { name: /Accounts/ }).click();
    const sent = [];
    const record = (r) => {
      const { pathname } = new URL(r.url());
      if (/^\/api\/(imports|blobs|accounts\/import)/.test(pathname)) sent.push({ call: `${r.method()} ${pathname}`, auth: 'authorization' in r.headers() });
    };
    admin.on('request', record);
    await admin.locator('[data-testid=import-file]').setInputFiles({
      name: 'accounts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`phone,name,session\n${NEW_PHONE},New Line 3,${session}\nnot-a-phone,Broken\n`),
    });
    const report = admin.locator('[data-testid=import-report]');
    await report.getByText('1 imported · 0 unchanged · 1 rejected').waitFor();
    await report.locator('[data-testid=rejected-line]', { hasText: /^3/ }).waitFor();
    admin.off('request', record);
    // The two-step import: the job, the file straight to the blob store (no bearer token), the start, then its progress.
    const calls = sent.map((s) => s.call.replace(/job_\w+/, 'JOB').replace(/blobs\/\S+/, 'blobs/TOKEN'));
    const expected = ['POST /api/imports', 'PUT /api/blobs/TOKEN', 'POST /api/imports/JOB/start', 'GET /api/imports/JOB'];
    if (!isDeepStrictEqual([...new Set(calls)], expected)) throw new Error(`import requests: ${calls.join(', ')}`);
    if (!sent[0].auth) throw new Error('the API request shows no bearer token: the check of the upload below would prove nothing');
    if (sent.find((s) => s.call.startsWith('PUT')).auth) throw new Error('the upload to the blob store carried the bearer token');
    await shot(admin, 'import-result');
    await desk.waitOnline(NEW_PHONE);
    await admin.locator(`[data-testid=account-row][data-phone="${NEW_PHONE}"]`).getByLabel(`Owner of ${NEW_PHONE}`).selectOption({ label: 'amy' });
    await admin.getByText(`${NEW_PHONE} assigned to amy.`).waitFor();
    await shot(admin, 'accounts');
    await desk.customerWrites(NEW_PHONE, { user_id: 7002, name: 'Walter Assigned' }, 'Hi, new account here');
    await row(amy, 'Walter Assigned').waitFor();
    await row(amy, 'Walter Assigned').getByText('New Line 3').waitFor();
  });

  await test('batch reply to selected dialogs shows each target’s progress, and every customer gets it', async () => {
    await amy.getByLabel('Select Walter Assigned').check();
    await amy.getByLabel('Select Newer Customer').check();
    await amy.getByTestId('batch-open').click();
    const modal = amy.getByRole('dialog', { name: 'Batch reply' });
    await modal.locator('textarea').fill('We are open on Sunday 🎉');
    await modal.getByRole('button', { name: 'Send to 2' }).click();
    await modal.getByTestId('batch-summary').getByText(/2 sent · 0 failed · 0 waiting/).waitFor();
    await waitFor(async () => (await modal.locator('tbody tr', { hasText: 'sent' }).count()) === 2, { what: 'both targets listed as sent' });
    await shot(amy, 'batch-reply');
    await waitFor(
      async () =>
        (await desk.sentBy(NEW_PHONE)).some((i) => i.text === 'We are open on Sunday 🎉') &&
        (await desk.sentBy(AMY_PHONE)).some((i) => i.text === 'We are open on Sunday 🎉'),
      { what: 'both accounts to have sent the batch text' },
    );
    await modal.getByRole('button', { name: 'Close' }).click();
  });

  await test('an agent never sees another agent’s accounts', async () => {
    const bobToken = await desk.login(BOB.username, BOB.password);
    await desk.customerWrites(BOB_PHONE, { user_id: 7003, name: 'Bob Customer Zed' }, 'Only bob may read this');
    await waitFor(
      async () => (await desk.call('GET', '/api/inbox', bobToken)).items.some((d) => d.title === 'Bob Customer Zed'),
      { what: 'bob’s inbox to have his customer' },
    );
    // The same push reached amy's socket if it was going to: a later message to amy arrives after it.
    await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Fence message');
    await message(amy, 'Fence message').waitFor();
    if ((await row(amy, 'Bob Customer Zed').count()) !== 0) throw new Error('amy sees bob’s dialog');
    await amy.getByRole('link', { name: /Accounts/ }).click();
    await amy.locator(`[data-testid=account-row][data-phone="${AMY_PHONE}"]`).waitFor();
    if ((await amy.locator(`[data-testid=account-row][data-phone="${BOB_PHONE}"]`).count()) !== 0) {
      throw new Error('amy’s account list shows bob’s account');
    }
    await shot(amy, 'agent-accounts');
    await amy.getByRole('link', { name: /Inbox/ }).click();
  });

  await test('an account logs in from the desk: phone → code → 2FA, with Telegram’s refusals in words', async () => {
    // A key the simulator knows but never logged in: the fleet finds it logged out.
    const key = await desk.simAccount(TWO_FA_PHONE, { password: 'tg-2fa-secret', authorized: false });
    await desk.importCsv(`phone,name,session\n${TWO_FA_PHONE},Two Step,${key}\n`);
    await waitFor(async () => (await desk.account(TWO_FA_PHONE))?.status === 'logged_out', { what: 'the account to be found logged out' });
    await admin.reload();
    const account = admin.locator(`[data-testid=account-row][data-phone="${TWO_FA_PHONE}"]`);
    await account.getByRole('button', { name: 'Log in' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Log the account in' });
    await dialog.locator('input[name=code]').waitFor();
    const code = await waitFor(() => desk.loginCode(TWO_FA_PHONE), { what: 'the login code' });
    await dialog.locator('input[name=code]').fill(code === '00000' ? '11111' : '00000');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.getByText('Telegram says the code is wrong').waitFor();
    await shot(admin, 'account-login-code-refused');
    await dialog.locator('input[name=code]').fill(code);
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.locator('input[name=password]').waitFor();
    await dialog.locator('input[name=password]').fill('wrong-password');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.getByText('2FA password is wrong').waitFor();
    await dialog.locator('input[name=password]').fill('tg-2fa-secret');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.locator('[data-testid=login-online]').waitFor({ timeout: 30_000 });
    await shot(admin, 'account-login-online');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await account.getByRole('button', { name: 'Log out' }).click();
    await admin.getByText(`${TWO_FA_PHONE} logged out.`).waitFor();
  });

  await test('admin lists: agents, groups, tags (one deleted within the request), the audit log with a filter and the archive', async () => {
    await admin.goto(server.base + '/agents');
    await admin.locator('[data-testid=agents-table]').getByRole('cell', { name: 'amy' }).first().waitFor();
    await shot(admin, 'agents');
    await admin.getByRole('link', { name: /Tags/ }).click();
    await admin.getByPlaceholder('New tag').fill('VIP 🌟');
    await admin.getByRole('button', { name: 'Create tag' }).click();
    await admin.locator('[data-testid=tags-table]').getByText('VIP 🌟').waitFor();
    await admin.getByPlaceholder('New tag').fill('Short-lived');
    await admin.getByRole('button', { name: 'Create tag' }).click();
    const shortLived = admin.locator('[data-testid=tags-table] tr', { hasText: 'Short-lived' });
    await shortLived.getByRole('button', { name: 'Delete' }).click();
    await shortLived.waitFor({ state: 'detached' });
    await admin.getByRole('link', { name: /Groups/ }).click();
    await admin.getByPlaceholder('New group name').fill('Night shift');
    await admin.getByRole('button', { name: 'Create group' }).click();
    await admin.locator('[data-testid=groups-table]').getByText('Night shift').waitFor();
    await shot(admin, 'groups');
    await admin.getByRole('link', { name: /Audit/ }).click();
    await admin.getByLabel('Action filter').selectOption('account.assign');
    const audit = admin.locator('[data-testid=audit-table] tbody');
    await waitFor(
      async () => {
        const actions = await audit.locator('td code').allTextContents();
        return actions.length > 0 && actions.every((a) => a === 'account.assign');
      },
      { what: 'the audit log to list only account.assign entries' },
    );
    await shot(admin, 'audit');
    await admin.getByRole('link', { name: /Archive/ }).click();
    await admin.getByTestId('archive-hot-days').getByText(/^30 days/).waitFor();
    await admin.getByTestId('archive-retention').getByText('kept for ever').waitFor();
  });

  await searchTests({ test, desk, signIn, shot, amy, admin, row, message, AMY, BOB, AMY_PHONE });

  await test('keyboard: up/down move through the inbox, Esc closes the dialog', async () => {
    await amy.locator('[data-testid=inbox-list]').focus();
    await amy.keyboard.press('Escape');
    await amy.locator('[data-testid=history]').waitFor({ state: 'detached' });
    // Rows are placed by transform (virtualized): their order on screen is their data-top.
    const [first, second] = await amy.locator('[data-testid=dialog-row]').evaluateAll((rows) =>
      rows.sort((a, b) => Number(a.dataset.top) - Number(b.dataset.top)).map((r) => r.dataset.key),
    );
    await amy.keyboard.press('ArrowDown');
    await amy.locator(`[data-testid=dialog-row][data-key="${first}"][aria-selected=true]`).waitFor();
    await amy.keyboard.press('ArrowDown');
    await amy.locator(`[data-testid=dialog-row][data-key="${second}"][aria-selected=true]`).waitFor();
    await amy.keyboard.press('Enter');
    await amy.keyboard.type('typed after Enter');
    if ((await amy.locator('[data-testid=composer]').inputValue()) !== 'typed after Enter') throw new Error('Enter did not focus the composer');
    await amy.keyboard.press('Escape');
    await amy.locator('[data-testid=history]').waitFor({ state: 'detached' });
  });
  await test('an agent changes their password: a wrong current one is refused in words, the new one signs in', async () => {
    const PAT = { username: 'pat', password: 'pat-password-1' };
    await desk.createAgent(PAT.username, PAT.password);
    const pat = await signIn(PAT.username, PAT.password);
    await pat.getByRole('link', { name: /Password/ }).click();
    const form = pat.locator('[data-testid=password-form]');
    await form.locator('input[name=current]').fill('not-my-password');
    await form.locator('input[name=new]').fill('pat-password-2');
    await form.locator('input[name=repeat]').fill('pat-password-2');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('alert').waitFor();
    await form.locator('input[name=current]').fill(PAT.password);
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('status').waitFor();
    await shot(pat, 'password-changed');
    // Still signed in with the new token: the inbox loads.
    await pat.getByRole('link', { name: /Inbox/ }).click();
    await pat.locator('[data-testid=live-state]').waitFor({ state: 'detached' });
    await desk.login(PAT.username, 'pat-password-2');
    await desk.login(PAT.username, PAT.password).then(
      () => {
        throw new Error('the old password still signs in');
      },
      () => undefined,
    );
    if (pat.errors.length) throw new Error(`page errors: ${pat.errors.join('; ')}`);
    await pat.context().close();
  });
  await test('dark theme follows the system', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(server.base + '/');
    await page.fill('input[name=username]', AMY.username);
    await page.fill('input[name=password]', AMY.password);
    await page.click('button[type=submit]');
    await row(page, 'Ольга').click();
    await message(page, 'Здравствуйте').waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());
    if (bg !== '#0f1419') throw new Error(`dark background expected, got ${bg}`);
    await shot(page, 'dialog-dark');
    await context.close();
  });
  await test('deletes the server finishes in the background say so, and each list drops the row once its job is done', async () => {
    // No wait for jobs within a request: every delete answers 202 with its job.
    const jobs = new Server({ binary, outDir, env: { TGDESK_JOB_WAIT: '0s' } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await jobs.start();
      const api = new DeskApi(jobs);
      const token = await api.admin();
      await api.call('POST', '/api/tags', token, { name: 'Doomed tag' });
      await api.call('POST', '/api/groups', token, { name: 'Doomed group' });
      await api.createAgent('doomed-agent', 'doomed-password-1');
      await api.importCsv('phone,name\n+15550109999,Doomed Account\n');
      await waitFor(() => api.account('+15550109999'), { what: 'the account to be imported' });
      const page = await context.newPage();
      page.setDefaultTimeout(UI_TIMEOUT);
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // The agent and account deletes ask to confirm.
      page.on('dialog', (d) => d.accept());
      await page.goto(jobs.base + '/');
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', ADMIN_PASSWORD);
      await page.click('button[type=submit]');
      const deleteInBackground = async (link, table, name) => {
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
        const row = page.locator(`[data-testid=${table}] tr`, { hasText: name });
        await row.getByRole('button', { name: 'Delete' }).click();
        await page.getByTestId('deleting').getByText('Deleting… (runs in the background)').waitFor();
        await row.waitFor({ state: 'detached' });
        await page.getByTestId('deleting').waitFor({ state: 'detached' });
      };
      await deleteInBackground('Tags', 'tags-table', 'Doomed tag');
      await deleteInBackground('Groups', 'groups-table', 'Doomed group');
      await deleteInBackground('Agents', 'agents-table', 'doomed-agent');
      await page.getByText('doomed-agent deleted.').waitFor();
      await deleteInBackground('Accounts', 'accounts-table', '+15550109999');
      await page.getByText('+15550109999 deleted.').waitFor();
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    } finally {
      await context.close();
      await jobs.dispose();
    }
  });

  await test('with the demo on, the admin signs in and sees the demo conversations arrive', async () => {
    const demo = new Server({ binary, demo: true, outDir });
    try {
      await demo.start();
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(demo.base + '/');
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', ADMIN_PASSWORD);
      await page.click('button[type=submit]');
      await waitFor(async () => (await page.locator('[data-testid=dialog-row]').count()) >= 2, {
        what: 'two demo conversations in the admin’s inbox',
        timeout: 60_000,
      });
      await page.locator('[data-testid=dialog-row]').first().click();
      await page.locator('[data-testid=history] [data-testid=message]').first().waitFor();
      await shot(page, 'demo-inbox');
      await context.close();
    } finally {
      await demo.dispose();
    }
  });
} catch (e) {
  results.push({ name: 'setup', ok: false, error: e });
  console.log(`FAIL setup\n     ${e.stack ?? e}`);
} finally {
  browser?.removeAllListeners('disconnected');
  console.log('closing the browser and stopping the server');
  // A browser that does not close in time must not keep the run (and the server) alive.
  await Promise.race([browser?.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  await server.dispose();
}

const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
console.log(`screenshots and server logs: ${outDir}`);
process.exit(failed.length ? 1 : 0);
