// The inbox as the app holds it: dialogs by key and their order (pinned
// first, then newest message first), updated from REST pages and push events.
import type { DialogView } from '../api/types';

/** The key of a dialog: its account and its peer. */
export function dialogKey(d: { account_id: string; peer: number }): string {
  return `${d.account_id}:${d.peer}`;
}

// Dialog objects are never mutated, so each one's parsed date is cached (sorting 100,000 would parse it often).
const parsed = new WeakMap<DialogView, number>();

function at(d: DialogView): number {
  let ms = parsed.get(d);
  if (ms === undefined) {
    ms = d.last_message_at ? Date.parse(d.last_message_at) : 0;
    parsed.set(d, ms);
  }
  return ms;
}

/** Inbox order: pinned first, then newest message, then newest id, then key (stable). */
export function compareDialogs(a: DialogView, b: DialogView): number {
  if (a.pinned !== b.pinned) return a.pinned ? -1 : 1;
  const byTime = at(b) - at(a);
  if (byTime !== 0) return byTime;
  const byId = (b.last_message_id ?? 0) - (a.last_message_id ?? 0);
  if (byId !== 0) return byId;
  const ka = dialogKey(a);
  const kb = dialogKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Dialogs by key plus their order; replaced, never mutated, so React sees changes. */
export interface InboxState {
  byKey: ReadonlyMap<string, DialogView>;
  order: readonly string[];
}

export const emptyInbox: InboxState = { byKey: new Map(), order: [] };

/** Index where `d` belongs in `order` (binary search over the inbox order). */
function insertionIndex(state: { byKey: ReadonlyMap<string, DialogView>; order: readonly string[] }, d: DialogView) {
  let lo = 0;
  let hi = state.order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareDialogs(state.byKey.get(state.order[mid])!, d) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Puts dialogs in place. `from` says where they come from: a push event is
 * the server's latest word and replaces what is held; a REST page replaces a
 * held dialog only when it is not older (a page fetched before an event must
 * not undo it). Pushed dialogs carry no pin (pins are per viewer), so the
 * held pin is kept for them.
 */
export function upsertDialogs(state: InboxState, dialogs: readonly DialogView[], from: 'event' | 'page'): InboxState {
  if (dialogs.length === 0) return state;
  if (dialogs.length > 16) return mergeMany(state, dialogs, from);
  const byKey = new Map(state.byKey);
  const order = state.order.slice();
  for (const incoming of dialogs) {
    const key = dialogKey(incoming);
    const held = byKey.get(key);
    let next = incoming;
    if (held) {
      if (from === 'event') next = { ...incoming, pinned: held.pinned };
      else if (at(held) > at(incoming) || (held.last_message_id ?? 0) > (incoming.last_message_id ?? 0)) continue;
      const index = order.indexOf(key);
      if (index >= 0) order.splice(index, 1);
    }
    byKey.set(key, next);
    order.splice(insertionIndex({ byKey, order }, next), 0, key);
  }
  return { byKey, order };
}

/** What `incoming` becomes when put over `held` (see `upsertDialogs`); null keeps `held`. */
function resolve(held: DialogView | undefined, incoming: DialogView, from: 'event' | 'page'): DialogView | null {
  if (!held) return incoming;
  if (from === 'event') return { ...incoming, pinned: held.pinned };
  if (at(held) > at(incoming) || (held.last_message_id ?? 0) > (incoming.last_message_id ?? 0)) return null;
  return incoming;
}

/**
 * `upsertDialogs` for a page: one pass over the held order instead of a
 * search and a splice per dialog, so appending the 200th page of 500 to an
 * inbox of 100,000 stays a few milliseconds.
 */
function mergeMany(state: InboxState, dialogs: readonly DialogView[], from: 'event' | 'page'): InboxState {
  const byKey = new Map(state.byKey);
  const changed = new Map<string, DialogView>();
  for (const incoming of dialogs) {
    const key = dialogKey(incoming);
    const next = resolve(changed.get(key) ?? byKey.get(key), incoming, from);
    if (next) changed.set(key, next);
  }
  if (changed.size === 0) return state;
  for (const [key, d] of changed) byKey.set(key, d);
  const kept = state.order.filter((k) => !changed.has(k));
  const fresh = [...changed.values()].sort(compareDialogs);
  const order: string[] = new Array(kept.length + fresh.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < kept.length && j < fresh.length) {
    if (compareDialogs(byKey.get(kept[i])!, fresh[j]) <= 0) order[o++] = kept[i++];
    else order[o++] = dialogKey(fresh[j++]);
  }
  while (i < kept.length) order[o++] = kept[i++];
  while (j < fresh.length) order[o++] = dialogKey(fresh[j++]);
  return { byKey, order };
}

/** Changes one held dialog (pin, read) and moves it to its new place. */
export function patchDialog(state: InboxState, key: string, patch: Partial<DialogView>): InboxState {
  const held = state.byKey.get(key);
  if (!held) return state;
  const byKey = new Map(state.byKey);
  const order = state.order.filter((k) => k !== key);
  const next = { ...held, ...patch };
  byKey.set(key, next);
  order.splice(insertionIndex({ byKey, order }, next), 0, key);
  return { byKey, order };
}

/** What the inbox shows: every filter that is set must match. */
export interface InboxFilter {
  /** Only these accounts (from the account, group or tag filter); null: all. */
  accounts: ReadonlySet<string> | null;
  unreadOnly: boolean;
}

/** Returns the keys of `state` that pass `filter`, in inbox order. */
export function visibleKeys(state: InboxState, filter: InboxFilter): readonly string[] {
  if (!filter.accounts && !filter.unreadOnly) return state.order;
  return state.order.filter((k) => {
    const d = state.byKey.get(k)!;
    if (filter.accounts && !filter.accounts.has(d.account_id)) return false;
    if (filter.unreadOnly && d.unread_count === 0) return false;
    return true;
  });
}
