// Ordering of push events: each user's events carry a seq; the client keeps
// the last it applied, resumes with `since=` and refetches on `resync`.

/** A push event as the server sends it. */
export interface PushEvent {
  type: string;
  seq: number;
  data: unknown;
}

/** What to do with an incoming event. */
export type Verdict = 'apply' | 'duplicate' | 'resync';

/**
 * Tracks the last seq applied. Events at or below it are repeats (a
 * reconnect's backlog may overlap what was seen); `resync` or a hole in the
 * numbering means events were lost and the state must be refetched.
 */
export class SeqTracker {
  /** Last seq applied; null before the first event. */
  last: number | null = null;

  /** Judges `event` and, unless it is a repeat, records its seq. */
  accept(event: PushEvent): Verdict {
    if (event.type === 'resync') {
      this.last = event.seq;
      return 'resync';
    }
    if (this.last !== null && event.seq <= this.last) return 'duplicate';
    const hole = this.last !== null && event.seq > this.last + 1;
    this.last = event.seq;
    return hole ? 'resync' : 'apply';
  }

  /** The `since=` to resume with, if any event was seen. */
  since(): number | null {
    return this.last;
  }
}
