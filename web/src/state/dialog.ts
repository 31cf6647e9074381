// One open dialog: its messages (ascending ids), edits and deletes applied,
// and the sends the agent started here with their status.
import type { Message, SendRecord } from '../api/types';

/** A send started from this tab, shown until its message arrives. */
export interface PendingSend {
  send_id: string;
  text: string;
  files: string[];
  reply_to: number | null;
  status: SendRecord['status'];
  error: string | null;
  message_id: number | null;
}

export interface DialogState {
  account_id: string;
  peer: number;
  messages: readonly Message[];
  /** False once the server said there is nothing older. */
  hasOlder: boolean;
  olderCursor: string | null;
  pending: readonly PendingSend[];
  /** The message to scroll to and highlight (opened from a search hit), if any. */
  focus: number | null;
}

export function openDialog(account_id: string, peer: number): DialogState {
  return { account_id, peer, messages: [], hasOlder: true, olderCursor: null, pending: [], focus: null };
}

function merge(held: readonly Message[], incoming: readonly Message[]): Message[] {
  const byId = new Map(held.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** Adds messages (a page or events); repeats replace, order stays by id. */
export function addMessages(state: DialogState, incoming: readonly Message[]): DialogState {
  const mine = incoming.filter((m) => m.account_id === state.account_id && m.peer === state.peer);
  if (mine.length === 0) return state;
  return { ...state, messages: merge(state.messages, mine), pending: settle(state.pending, mine) };
}

/** Pending sends whose message is now in the history are no longer shown apart. */
function settle(pending: readonly PendingSend[], arrived: readonly Message[]): readonly PendingSend[] {
  if (pending.length === 0) return pending;
  const ids = new Set(arrived.map((m) => m.id));
  return pending.filter((p) => p.message_id === null || !ids.has(p.message_id));
}

/** Applies an older page (newest-first from the API) with its cursor. */
export function addOlderPage(state: DialogState, items: readonly Message[], next: string | null): DialogState {
  const merged = addMessages(state, items);
  return { ...merged, olderCursor: next, hasOlder: next !== null };
}

export interface EditEvent {
  account_id: string;
  peer: number;
  id: number;
  text: string;
  edited_at: string;
}
export interface DeleteEvent {
  account_id: string;
  peer: number;
  ids: number[];
}

/** A `message.tags` event: a message's tags replaced (tag ids). */
export interface TagsEvent {
  account_id: string;
  peer: number;
  id: number;
  tags: string[];
}

export function applyTags(state: DialogState, e: TagsEvent): DialogState {
  if (e.account_id !== state.account_id || e.peer !== state.peer) return state;
  if (!state.messages.some((m) => m.id === e.id)) return state;
  return { ...state, messages: state.messages.map((m) => (m.id === e.id ? { ...m, tags: [...e.tags] } : m)) };
}

/** True when the message is loaded, or when nothing older is left to load (so a search for it can stop). */
export function hasOrExhausted(state: DialogState, id: number): boolean {
  return !state.hasOlder || state.messages.some((m) => m.id === id);
}

export function applyEdit(state: DialogState, e: EditEvent): DialogState {
  if (e.account_id !== state.account_id || e.peer !== state.peer) return state;
  return {
    ...state,
    messages: state.messages.map((m) => (m.id === e.id ? { ...m, text: e.text, edited_at: e.edited_at } : m)),
  };
}

export function applyDelete(state: DialogState, e: DeleteEvent): DialogState {
  if (e.account_id !== state.account_id || e.peer !== state.peer) return state;
  const ids = new Set(e.ids);
  return { ...state, messages: state.messages.map((m) => (ids.has(m.id) ? { ...m, deleted: true } : m)) };
}

/** Records a send this tab started. */
export function addPending(state: DialogState, p: PendingSend): DialogState {
  return { ...state, pending: [...state.pending, p] };
}

/** Applies a `send.status` event to the pending send it names. */
export function applySendStatus(state: DialogState, r: SendRecord): DialogState {
  if (r.account_id !== state.account_id || r.peer !== state.peer) return state;
  if (!state.pending.some((p) => p.send_id === r.id)) return state;
  const pending = state.pending.map((p) =>
    p.send_id === r.id ? { ...p, status: r.status, error: r.error ?? null, message_id: r.message_id ?? null } : p,
  );
  const ids = new Set(state.messages.map((m) => m.id));
  return { ...state, pending: pending.filter((p) => p.message_id === null || !ids.has(p.message_id)) };
}
