// Line icons (inline SVG, so they need no icon font or emoji font).
const PATHS: Record<string, string> = {
  inbox: 'M4 4h16v12H7l-3 3zM8 9h8M8 12h5',
  phone: 'M8 2h8a1 1 0 0 1 1 1v18a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zM11 18h2',
  users: 'M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM3 20c0-3 3-5 6-5s6 2 6 5M16 5a3 3 0 0 1 0 6M18 15c2 .5 3 2.5 3 5',
  folder: 'M3 6h6l2 2h10v11H3z',
  tag: 'M3 12V3h9l9 9-9 9zM7.5 7.5h.01',
  log: 'M6 3h9l4 4v14H6zM9 9h7M9 13h7M9 17h4',
  box: 'M3 7h18v4H3zM5 11v9h14v-9M10 15h4',
  exit: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  key: 'M8 15a4 4 0 1 1 0-8 4 4 0 0 1 0 8zM12 11h9M18 11v3M21 11v4',
  clip: 'M16 7l-7.5 7.5a2 2 0 0 0 3 3L19 10a4 4 0 0 0-6-6l-7.5 7.5a6 6 0 0 0 8.5 8.5L20 14',
};

export function Icon({ name, size = 20 }: { name: keyof typeof PATHS | string; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8"
      strokeLinecap="round" strokeLinejoin="round" aria-hidden className="icon">
      <path d={PATHS[name]} />
    </svg>
  );
}
