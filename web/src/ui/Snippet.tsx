// A search hit's snippet: matched words in <mark>, everything as text
// (React escapes it; the snippet is never parsed as HTML).
import { Fragment, useMemo } from 'react';
import { snippetSegments } from '../state/search';

export function Snippet({ pieces }: { pieces: readonly { text: string; hit: boolean }[] }) {
  const segments = useMemo(() => snippetSegments(pieces), [pieces]);
  return (
    <span className="snippet" data-testid="snippet">
      {segments.map((s, i) => (s.hit ? <mark key={i}>{s.text}</mark> : <Fragment key={i}>{s.text}</Fragment>))}
    </span>
  );
}
