// The signed-in session: who I am, the inbox, the open dialog and the push
// connection, held in one store that React components subscribe to.
import { api, must, setToken } from '../api/client';
import type { AgentView, DialogView, Message, SendRecord, Tag } from '../api/types';
import {
  addMessages,
  addOlderPage,
  addPending,
  applyDelete,
  applyEdit,
  applySendStatus,
  applyTags,
  hasOrExhausted,
  openDialog,
  type DeleteEvent,
  type DialogState,
  type EditEvent,
  type PendingSend,
  type TagsEvent,
} from './dialog';
import { dialogKey, emptyInbox, patchDialog, upsertDialogs, type InboxState } from './inbox';
import { LiveConnection, type LiveState } from './live';
import type { PushEvent } from './seq';

/** Inbox pages fetched at start; the rest is fetched as the list scrolls. */
const INBOX_PAGE = 500;
const HISTORY_PAGE = 100;
/** History pages loaded at most to reach a message opened from a search (older ones open the dialog only). */
const SEEK_PAGES = 20;

export interface BatchProgress {
  batch_id: string;
  targets: number;
  counts: Record<string, number>;
  done: boolean;
}

export interface DeskSnapshot {
  me: AgentView;
  inbox: InboxState;
  inboxCursor: string | null;
  inboxLoading: boolean;
  /** Why the inbox could not be loaded, if it could not. */
  inboxError: string | null;
  dialog: DialogState | null;
  live: LiveState;
  accountStatus: Readonly<Record<string, string>>;
  batches: Readonly<Record<string, BatchProgress>>;
  /** The tenant's tag dictionary (for message tags and search filters). */
  tags: readonly Tag[];
  /** Bumped on every change. */
  version: number;
}

/** What the server narrows the inbox listing to (`GET /api/inbox` filters). */
export interface InboxListing {
  account?: string;
  group?: string;
  tag?: string;
  unread?: boolean;
}

/** One string per distinct listing ('' for the whole inbox). */
export function listingKey(q: InboxListing): string {
  const parts = [q.account && `account=${q.account}`, q.group && `group=${q.group}`, q.tag && `tag=${q.tag}`, q.unread && 'unread'];
  return parts.filter(Boolean).join('&');
}

export class Desk {
  private snap: DeskSnapshot;
  /** The inbox listing pages come from; its filters are the server's, so a
   * filter shows every matching dialog, not only those loaded so far. */
  private listing: { key: string; query: InboxListing } = { key: '', query: {} };
  /** Next cursors of listings left for another (null: read to the end). */
  private cursors = new Map<string, string | null>();
  /** Listings whose first page was read since the last reset. */
  private started = new Set<string>();
  private listeners = new Set<() => void>();
  private live: LiveConnection | null = null;
  /** The history page being fetched for the open dialog, which later callers wait on instead of fetching twice. */
  private older: Promise<void> | null = null;

  constructor(me: AgentView, private readonly token: string) {
    this.snap = {
      me,
      inbox: emptyInbox,
      inboxCursor: null,
      inboxLoading: true,
      inboxError: null,
      dialog: null,
      live: 'connecting',
      accountStatus: {},
      batches: {},
      tags: [],
      version: 0,
    };
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = () => this.snap;

  private set(patch: Partial<DeskSnapshot>) {
    this.snap = { ...this.snap, ...patch, version: this.snap.version + 1 };
    for (const l of this.listeners) l();
  }

  /** Opens the push connection first (its events wait in order), then loads the inbox. */
  start(origin: string) {
    this.live = new LiveConnection(origin, this.token, {
      onEvent: (e) => this.apply(e),
      onResync: () => void this.refetch(),
      onReconnected: () => void this.catchUp(),
      onState: (live) => this.set({ live }),
    });
    this.live.start();
    this.loadInbox(true).catch(() => undefined);
    this.loadTags().catch(() => undefined);
  }

  /** Fetches the tenant's tag dictionary again (tags are created on another screen, maybe by someone else). */
  async loadTags() {
    const page = await must(api.GET('/api/tags'));
    this.set({ tags: page.items });
  }

  stop() {
    this.live?.stop();
    setToken(null);
  }

  /** Loads the first page of the current listing (reset: dropping every
   * dialog held) or its next one; the dialogs join those held. */
  async loadInbox(reset = false) {
    const { key, query } = this.listing;
    const first = reset || !this.started.has(key);
    if (!first && (this.snap.inboxCursor === null || this.snap.inboxLoading)) return;
    const cursor = first ? undefined : (this.snap.inboxCursor ?? undefined);
    this.set({ inboxLoading: true });
    try {
      const page = await must(api.GET('/api/inbox', { params: { query: { limit: INBOX_PAGE, cursor, ...query } } }));
      if (reset) {
        this.started.clear();
        this.cursors.clear();
      }
      const base = reset ? emptyInbox : this.snap.inbox;
      const inbox = upsertDialogs(base, page.items, 'page');
      if (this.listing.key !== key) {
        // The filter changed meanwhile: keep the dialogs, not the cursor.
        this.set({ inbox });
        return;
      }
      this.started.add(key);
      this.set({ inbox, inboxCursor: page.next_cursor ?? null, inboxLoading: false, inboxError: null });
    } catch (e) {
      if (this.listing.key === key) this.set({ inboxLoading: false, inboxError: (e as Error).message });
      throw e;
    }
  }

  /** Lists the inbox through `query` from now on: its first page is read
   * unless it was already, and paging goes on where it stopped. */
  setInboxFilter(query: InboxListing) {
    const key = listingKey(query);
    if (key === this.listing.key) return;
    this.cursors.set(this.listing.key, this.snap.inboxCursor);
    this.listing = { key, query };
    this.set({ inboxCursor: this.cursors.get(key) ?? null, inboxLoading: false });
    if (!this.started.has(key)) this.loadInbox().catch(() => undefined);
  }

  /** Applies one push event. */
  apply(event: PushEvent) {
    const s = this.snap;
    switch (event.type) {
      case 'dialog.update':
        this.set({ inbox: upsertDialogs(s.inbox, [event.data as DialogView], 'event') });
        break;
      case 'message.new':
        if (s.dialog) this.set({ dialog: addMessages(s.dialog, [event.data as Message]) });
        break;
      case 'message.edit':
        if (s.dialog) this.set({ dialog: applyEdit(s.dialog, event.data as EditEvent) });
        break;
      case 'message.delete':
        if (s.dialog) this.set({ dialog: applyDelete(s.dialog, event.data as DeleteEvent) });
        break;
      case 'message.tags': {
        const e = event.data as TagsEvent;
        if (s.dialog) this.set({ dialog: applyTags(s.dialog, e) });
        // A tag made since the dictionary was loaded: fetch it, so its chip has a name.
        if (e.tags.some((id) => !s.tags.some((t) => t.id === id))) this.loadTags().catch(() => undefined);
        break;
      }
      case 'send.status':
        if (s.dialog) this.set({ dialog: applySendStatus(s.dialog, event.data as SendRecord) });
        break;
      case 'account.status': {
        const d = event.data as { account_id: string; status: string };
        this.set({ accountStatus: { ...s.accountStatus, [d.account_id]: d.status } });
        break;
      }
      case 'batch.progress': {
        const b = event.data as BatchProgress;
        this.set({ batches: { ...s.batches, [b.batch_id]: b } });
        break;
      }
    }
  }

  /** After `resync`: everything shown is fetched again. */
  private async refetch() {
    await Promise.allSettled([this.loadInbox(true), this.reloadDialog()]);
  }

  /** After a reconnect: the newest inbox page and dialog page are merged in, so nothing shown is missed. */
  private async catchUp() {
    const inbox = must(api.GET('/api/inbox', { params: { query: { limit: 100 } } })).then((page) =>
      this.set({ inbox: upsertDialogs(this.snap.inbox, page.items, 'page') }),
    );
    await Promise.allSettled([inbox, this.newestMessages()]);
  }

  private async newestMessages() {
    const d = this.snap.dialog;
    if (!d) return;
    const page = await must(
      api.GET('/api/accounts/{id}/dialogs/{peer}/messages', {
        params: { path: { id: d.account_id, peer: d.peer }, query: { limit: HISTORY_PAGE } },
      }),
    );
    // `addMessages` keeps only messages of the dialog open now.
    const now = this.snap.dialog;
    if (now) this.set({ dialog: addMessages(now, page.items) });
  }

  private async reloadDialog() {
    const d = this.snap.dialog;
    if (d) await this.select(d.account_id, d.peer);
  }

  /** Opens a dialog and loads its newest messages. */
  async select(account_id: string, peer: number) {
    this.set({ dialog: openDialog(account_id, peer) });
    this.older = null;
    await this.loadOlder();
  }

  /**
   * Opens a dialog at one message (a search hit): loads older pages until the
   * message is there, at most `SEEK_PAGES`, and marks it to scroll to.
   * Returns false when it was not reached (too far back, or another dialog
   * was opened meanwhile); the dialog is open either way.
   */
  async openAt(account_id: string, peer: number, id: number): Promise<boolean> {
    const here = (d: DialogState | null): d is DialogState => !!d && d.account_id === account_id && d.peer === peer;
    if (here(this.snap.dialog)) this.set({ dialog: { ...this.snap.dialog, focus: null } });
    else await this.select(account_id, peer);
    for (let i = 0; i < SEEK_PAGES; i++) {
      const d = this.snap.dialog;
      if (!here(d)) return false;
      if (hasOrExhausted(d, id)) break;
      await this.loadOlder();
    }
    const d = this.snap.dialog;
    if (!here(d) || !d.messages.some((m) => m.id === id)) return false;
    this.set({ dialog: { ...d, focus: id } });
    return true;
  }

  /** Replaces a message's tags; the open dialog shows them at once (others get `message.tags`). */
  async setMessageTags(account_id: string, peer: number, id: number, tags: string[]) {
    const tagged = await must(
      api.PUT('/api/messages/{account}/{peer}/{id}/tags', { params: { path: { account: account_id, peer, id } }, body: { tags } }),
    );
    const d = this.snap.dialog;
    if (d) this.set({ dialog: applyTags(d, { account_id, peer, id, tags: tagged.tags }) });
  }

  closeDialog() {
    this.set({ dialog: null });
  }

  /** Loads the page of older messages (infinite scroll back). */
  loadOlder(): Promise<void> {
    const d = this.snap.dialog;
    if (!d || !d.hasOlder) return Promise.resolve();
    if (this.older) return this.older;
    const fetching = this.fetchOlder(d).finally(() => {
      if (this.older === fetching) this.older = null;
    });
    this.older = fetching;
    return fetching;
  }

  private async fetchOlder(d: DialogState) {
    const page = await must(
      api.GET('/api/accounts/{id}/dialogs/{peer}/messages', {
        params: {
          path: { id: d.account_id, peer: d.peer },
          query: { limit: HISTORY_PAGE, cursor: d.olderCursor ?? undefined },
        },
      }),
    );
    const now = this.snap.dialog;
    if (now && now.account_id === d.account_id && now.peer === d.peer) {
      this.set({ dialog: addOlderPage(now, page.items, page.next_cursor ?? null) });
    }
  }

  /** Marks the open dialog read (here at once, then on Telegram). */
  async markRead(account_id: string, peer: number) {
    const key = dialogKey({ account_id, peer });
    const held = this.snap.inbox.byKey.get(key);
    if (!held || held.unread_count === 0) return;
    this.set({ inbox: patchDialog(this.snap.inbox, key, { unread_count: 0 }) });
    await must(api.POST('/api/accounts/{id}/dialogs/{peer}/read', { params: { path: { id: account_id, peer } } }));
  }

  async setPinned(account_id: string, peer: number, pinned: boolean) {
    const params = { params: { path: { id: account_id, peer } } };
    await must(
      pinned
        ? api.PUT('/api/accounts/{id}/dialogs/{peer}/pin', params)
        : api.DELETE('/api/accounts/{id}/dialogs/{peer}/pin', params),
    );
    this.set({ inbox: patchDialog(this.snap.inbox, dialogKey({ account_id, peer }), { pinned }) });
  }

  /** Queues a message in the open dialog; its status follows as `send.status` events. */
  async send(text: string, files: string[], reply_to: number | null) {
    const d = this.snap.dialog;
    if (!d) return;
    const accepted = await must(
      api.POST('/api/accounts/{id}/dialogs/{peer}/messages', {
        params: { path: { id: d.account_id, peer: d.peer } },
        body: { text, files, reply_to },
      }),
    );
    const pending: PendingSend = {
      send_id: accepted.send_id,
      text,
      files,
      reply_to,
      status: accepted.status,
      error: null,
      message_id: null,
    };
    const now = this.snap.dialog;
    if (now && now.account_id === d.account_id && now.peer === d.peer) this.set({ dialog: addPending(now, pending) });
    // The outcome may have been pushed before the 202 arrived: ask once.
    const record = await must(api.GET('/api/sends/{id}', { params: { path: { id: accepted.send_id } } })).catch(
      () => null,
    );
    if (record && record.status !== 'queued' && this.snap.dialog) {
      this.set({ dialog: applySendStatus(this.snap.dialog, record) });
    }
  }
}
