// Small display helpers.

// One Intl.DateTimeFormat per format, made once. `Date.prototype.toLocale*String`
// with options builds a new ICU formatter on every call (about 0.1 ms) that
// only V8's garbage collector frees, in one main-thread pass after a major GC:
// the thousands made while rendering a long dialog and the inbox froze a frame
// of the inbox's scroll when they were freed (bench/RESULTS.md, issue 23).
// Same output: these options name their fields, so the toLocale*String
// defaults never applied.
function formatter(options: Intl.DateTimeFormatOptions): (d: Date) => string {
  let f: Intl.DateTimeFormat | undefined;
  return (d) => (f ??= new Intl.DateTimeFormat(undefined, options)).format(d);
}
const hourMinute = formatter({ hour: '2-digit', minute: '2-digit' });
const weekdayShort = formatter({ weekday: 'short' });
const dayMonth = formatter({ day: 'numeric', month: 'short' });
const fullDay = formatter({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

/** Time for a list: today's time, this week's day, or the date. */
export function shortTime(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (d.toDateString() === now.toDateString()) return hourMinute(d);
  if (now.getTime() - d.getTime() < 6 * 86400_000) return weekdayShort(d);
  return dayMonth(d);
}

export function clock(iso: string): string {
  return hourMinute(new Date(iso));
}

export function dayLabel(iso: string): string {
  return fullDay(new Date(iso));
}

const COLORS = ['#e17076', '#faa774', '#a695e7', '#7bc862', '#6ec9cb', '#65aadd', '#ee7aae'];

/** A stable color for a peer's avatar. */
export function avatarColor(seed: number | string): string {
  const s = String(seed);
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return COLORS[Math.abs(h) % COLORS.length];
}

/** One or two initials of a title (works for any script, and emoji). */
export function initials(title: string): string {
  const words = title.trim().split(/\s+/).filter(Boolean);
  const first = [...(words[0] ?? '?')][0] ?? '?';
  const second = words.length > 1 ? ([...words[1]][0] ?? '') : '';
  return (first + second).toUpperCase();
}

export function bytes(n: number | null | undefined): string {
  if (n == null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
