import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { SearchHitView } from '../api/types';
import { Snippet } from '../ui/Snippet';
import { appendHits, canSearch, emptyFilters, searchParams, snippetSegments } from './search';

function hit(id: number, extra: Partial<SearchHitView> = {}): SearchHitView {
  return {
    account_id: 'acc_1',
    account_label: 'Amy Sales',
    peer: 7,
    id,
    date: '2026-01-01T12:00:00Z',
    outgoing: false,
    deleted: false,
    tags: [],
    snippet: [],
    score: 1,
    ...extra,
  } as SearchHitView;
}

describe('the search query', () => {
  it('is not asked for without words or tags (the server refuses it)', () => {
    expect(canSearch(emptyFilters)).toBe(false);
    expect(canSearch({ ...emptyFilters, q: '   ', account: 'acc_1', from: '2026-01-01' })).toBe(false);
    expect(canSearch({ ...emptyFilters, q: 'refund' })).toBe(true);
    expect(canSearch({ ...emptyFilters, tags: ['tag_1'] })).toBe(true);
  });

  it('carries only the filters that are set, with the default order left out', () => {
    expect(searchParams({ ...emptyFilters, q: '  доставки ' })).toEqual({ q: 'доставки', limit: 30 });
  });

  it('joins tags with commas and passes dates, account, order and cursor as given', () => {
    const f = { q: '"order 42" -spam', tags: ['tag_a', 'tag_b'], account: 'acc_2', from: '2026-01-01', to: '2026-01-31', order: 'relevance' as const };
    expect(searchParams(f, 'c2', 50)).toEqual({
      q: '"order 42" -spam',
      tags: 'tag_a,tag_b',
      account: 'acc_2',
      from: '2026-01-01',
      to: '2026-01-31',
      order: 'relevance',
      cursor: 'c2',
      limit: 50,
    });
  });

  it('gives the same parameters for the same filters (the debounce keys on them)', () => {
    const f = { ...emptyFilters, q: 'a', tags: ['t'] };
    expect(JSON.stringify(searchParams(f))).toBe(JSON.stringify(searchParams({ ...f, tags: ['t'] })));
  });
});

describe('a hit’s snippet', () => {
  it('joins neighbouring pieces of one kind, drops empty ones and keeps lines on one line', () => {
    expect(
      snippetSegments([
        { text: 'the ', hit: false },
        { text: '', hit: true },
        { text: 'order', hit: true },
        { text: ' ', hit: true },
        { text: '42', hit: true },
        { text: ' is\nlate', hit: false },
      ]),
    ).toEqual([
      { text: 'the ', hit: false },
      { text: 'order 42', hit: true },
      { text: ' is late', hit: false },
    ]);
  });

  it('marks a phrase as one run, but never a blank alone', () => {
    expect(snippetSegments([{ text: 'order', hit: true }, { text: ' ', hit: false }, { text: '42', hit: true }])).toEqual([
      { text: 'order 42', hit: true },
    ]);
    expect(snippetSegments([{ text: 'a', hit: false }, { text: ' ', hit: true }, { text: 'b', hit: false }])).toEqual([{ text: 'a b', hit: false }]);
    expect(snippetSegments([{ text: 'late', hit: true }, { text: ' ', hit: true }, { text: 'again', hit: false }])).toEqual([
      { text: 'late', hit: true },
      { text: ' again', hit: false },
    ]);
  });

  it('renders matched words as <mark> and markup in the text as text', () => {
    const html = renderToStaticMarkup(
      createElement(Snippet, {
        pieces: [
          { text: '<img src=x onerror=alert(1)> ', hit: false },
          { text: 'Доставка', hit: true },
          { text: ' & <b>more</b>', hit: false },
        ],
      }),
    );
    expect(html).toBe(
      '<span class="snippet" data-testid="snippet">&lt;img src=x onerror=alert(1)&gt; <mark>Доставка</mark> &amp; &lt;b&gt;more&lt;/b&gt;</span>',
    );
  });
});

describe('further pages', () => {
  it('are appended without listing a message twice', () => {
    const held = [hit(3), hit(2)];
    const next = appendHits(held, [hit(2), hit(1), hit(2, { peer: 8 })]);
    expect(next.map((h) => `${h.peer}:${h.id}`)).toEqual(['7:3', '7:2', '7:1', '8:2']);
  });
});
