// The push connection: `/ws?token=` with `since=` on every reconnect, backoff
// between attempts, and the connection's state for the "reconnecting" banner.
import { SeqTracker, type PushEvent } from './seq';

export type LiveState = 'connecting' | 'online' | 'reconnecting';

export interface LiveHandlers {
  /** An event to apply, in seq order, never twice. */
  onEvent(event: PushEvent): void;
  /** Events were lost (server said `resync`, or a hole): refetch over REST. */
  onResync(): void;
  /** The socket (re)opened after a drop: catch up what the page shows. */
  onReconnected(): void;
  onState(state: LiveState): void;
}

/** Delay before reconnect attempt `n` (0-based): 0.5 s doubling to 8 s, with jitter. */
export function backoffMs(n: number, random = Math.random): number {
  const base = Math.min(8000, 500 * 2 ** n);
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * The events of one WebSocket message: the server's `/ws` sends one event
 * per message, API Gateway's push function an array of them (one message
 * per invocation and connection), in seq order either way. Anything else
 * is ignored.
 */
export function eventsOf(text: string): PushEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  return items.filter(
    (e): e is PushEvent =>
      typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.seq === 'number',
  );
}

/** The WebSocket URL for `token`, resuming after `since` when given. */
export function wsUrl(origin: string, token: string, since: number | null): string {
  const base = origin.replace(/^http/, 'ws');
  const query = new URLSearchParams({ token });
  if (since !== null) query.set('since', String(since));
  return `${base}/ws?${query}`;
}

export class LiveConnection {
  private socket: WebSocket | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private everOpen = false;
  readonly seq = new SeqTracker();

  constructor(
    private readonly origin: string,
    private readonly token: string,
    private readonly handlers: LiveHandlers,
  ) {}

  start() {
    this.handlers.onState('connecting');
    this.open();
  }

  stop() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
  }

  private open() {
    const socket = new WebSocket(wsUrl(this.origin, this.token, this.seq.since()));
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.handlers.onState('online');
      if (this.everOpen) this.handlers.onReconnected();
      this.everOpen = true;
    };
    socket.onmessage = (m) => {
      for (const event of eventsOf(String(m.data))) {
        const verdict = this.seq.accept(event);
        if (verdict === 'resync') this.handlers.onResync();
        else if (verdict === 'apply') this.handlers.onEvent(event);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket || this.closed) return;
      this.handlers.onState('reconnecting');
      this.timer = setTimeout(() => this.open(), backoffMs(this.attempts++));
    };
  }
}
