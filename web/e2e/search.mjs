// Browser tests of message search and message tags, run by run.mjs with the
// pages and helpers it already has (amy owns AMY_PHONE, bob does not).
// The search index is fed asynchronously: each test first waits, over the
// API and with a deadline, until the server finds what the page will look for.
import { waitFor } from './wait.mjs';

const hits = (page) => page.locator('[data-testid=search-hit]');
const searchBox = (page) => page.getByTestId('search-input');

/** Searches from the box and waits until the page shows the answer to these words (hits, none, or an error). */
async function searchFor(page, q) {
  await searchBox(page).fill(q);
  const status = page.getByTestId('search-status');
  await waitFor(async () => (await status.getAttribute('data-q')) === q.trim(), { what: `the answer to the search "${q}"` });
}

export async function searchTests({ test, desk, signIn, shot, amy, admin, row, message, AMY, BOB, AMY_PHONE }) {
  const CUSTOMER = { user_id: 7020, name: 'Svetlana Search' };
  const amyToken = await desk.login(AMY.username, AMY.password);
  const found = (query, token = amyToken) => desk.call('GET', `/api/search?${new URLSearchParams(query)}`, token);
  let written;

  await test('a customer’s Russian message is found by another form of the word, marked, and opens its dialog at it', async () => {
    written = await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Доставка задерживается уже неделю');
    // Later messages, so the one searched for is not simply the newest on screen.
    await desk.customerWrites(AMY_PHONE, CUSTOMER, 'Any news?');
    await waitFor(async () => (await found({ q: 'доставки' })).items.some((h) => h.id === written.message_id), {
      what: 'the search index to have the customer’s message',
    });
    // `/` outside a text field goes to the search box.
    await amy.locator('.rail').click({ position: { x: 5, y: 300 } });
    await amy.keyboard.press('/');
    await waitFor(() => searchBox(amy).evaluate((el) => el === document.activeElement), { what: '/ to focus the search box' });
    await searchFor(amy, 'доставки');
    const hit = hits(amy).filter({ hasText: 'задерживается' });
    await hit.locator('mark', { hasText: /^Доставка$/ }).waitFor();
    await hit.locator('.title', { hasText: 'Svetlana Search' }).waitFor();
    await hit.getByText('via Amy Sales').waitFor();
    await shot(amy, 'search-hits');
    await hit.click();
    await amy.getByTestId('dialog-title').getByText('Svetlana Search').waitFor();
    await amy.locator(`[data-testid=message][data-id="${written.message_id}"].focused`).waitFor();
    await shot(amy, 'search-opened');
  });

  await test('a Chinese word is found inside a sentence written without spaces', async () => {
    const zh = await desk.customerWrites(AMY_PHONE, { user_id: 7021, name: '王小明' }, '我的订单还没有到，请帮我查一下');
    await waitFor(async () => (await found({ q: '订单' })).items.some((h) => h.id === zh.message_id && h.peer === zh.peer), {
      what: 'the search index to have the Chinese message',
    });
    await searchFor(amy, '订单');
    await hits(amy).filter({ hasText: '王小明' }).locator('mark', { hasText: '订单' }).waitFor();
    await searchFor(amy, 'доставки');
  });

  await test('an agent tags a message: the chip shows, another agent sees it live, and a search by the tag finds it', async () => {
    const tag = await desk.call('POST', '/api/tags', await desk.admin(), { name: 'Delivery issue', color: '#c2410c' });
    await admin.getByRole('link', { name: /Inbox/ }).click();
    await row(admin, 'Svetlana Search').click();
    const seenByAdmin = message(admin, 'Доставка задерживается');
    await seenByAdmin.waitFor();

    const msg = message(amy, 'Доставка задерживается');
    await msg.hover();
    await msg.getByRole('button', { name: 'Tags' }).click();
    await amy.getByRole('dialog', { name: 'Message tags' }).getByLabel('Delivery issue').check();
    // The picker lists the tags as chips too: look for the message's chip once it is closed.
    await amy.getByRole('dialog', { name: 'Message tags' }).getByRole('button', { name: 'Done' }).click();
    await msg.locator('[data-testid=tag-chip]', { hasText: 'Delivery issue' }).waitFor();
    await seenByAdmin.locator('[data-testid=tag-chip]', { hasText: 'Delivery issue' }).waitFor();
    await shot(amy, 'message-tagged');

    await waitFor(async () => (await found({ tags: tag.id })).items.some((h) => h.id === written.message_id), {
      what: 'the search index to have the message’s tag',
    });
    await amy.getByTestId('search-filters-toggle').click();
    await amy.getByLabel('Add a tag to the search').selectOption({ label: 'Delivery issue' });
    await searchFor(amy, '');
    const hit = hits(amy).filter({ hasText: 'задерживается' });
    await hit.locator('[data-testid=tag-chip]', { hasText: 'Delivery issue' }).waitFor();
    if ((await hits(amy).count()) !== 1) throw new Error(`only the tagged message should match, ${await hits(amy).count()} did`);
    await shot(amy, 'search-by-tag');
    // The tag and the words narrow together; a word the message lacks leaves nothing.
    await searchFor(amy, 'refund');
    await amy.getByTestId('search-empty').waitFor();
    await searchBox(amy).press('Escape');
  });

  await test('a query with an unclosed quote shows the server’s reason', async () => {
    await searchFor(amy, '"доставка задерживается');
    await amy.getByTestId('search-error').getByText('q has a quote that is not closed').waitFor();
    if ((await hits(amy).count()) !== 0) throw new Error('hits shown beside an error');
    await shot(amy, 'search-error');
    // Esc leaves the search: the inbox is back.
    await searchBox(amy).press('Escape');
    await amy.getByTestId('inbox-list').waitFor();
    if ((await searchBox(amy).inputValue()) !== '') throw new Error('Esc did not clear the search box');
  });

  await test('an agent who does not own the account finds nothing of its messages', async () => {
    const bobToken = await desk.login(BOB.username, BOB.password);
    if ((await found({ q: 'доставки' }, bobToken)).items.length !== 0) throw new Error('the API shows bob amy’s message');
    const bob = await signIn(BOB.username, BOB.password);
    try {
      await bob.keyboard.press('Control+K');
      await searchFor(bob, 'доставки');
      await bob.getByTestId('search-empty').waitFor();
      if ((await hits(bob).count()) !== 0) throw new Error('bob sees a hit from amy’s account');
      await shot(bob, 'search-other-agent');
      if (bob.errors.length) throw new Error(`page errors: ${bob.errors.join('; ')}`);
    } finally {
      await bob.context().close();
    }
    if (amy.errors.length) throw new Error(`page errors: ${amy.errors.join('; ')}`);
  });
}
