'use client';

import { useState } from 'react';

/** A list page's search text and sort order. */
export type ListView = { q: string; sort: string };

export type SortOption<T> = { value: string; label: string; compare: (a: T, b: T) => number };

/** The rows whose text contains every word of the search (any case), in the chosen order. */
export function applyListView<T>(items: readonly T[], view: ListView | undefined, opts: { text: (item: T) => string; sorts: readonly SortOption<T>[] }): T[] {
  if (!view) return [...items];
  const words = view.q.toLowerCase().split(/\s+/).filter(Boolean);
  const found = words.length === 0 ? [...items] : items.filter((item) => {
    const text = opts.text(item).toLowerCase();
    return words.every((w) => text.includes(w));
  });
  const sort = opts.sorts.find((s) => s.value === view.sort);
  return sort ? found.sort(sort.compare) : found;
}

export function useListView(defaultSort: string): [ListView, (next: ListView) => void] {
  const [view, setView] = useState<ListView>({ q: '', sort: defaultSort });
  return [view, setView];
}

/** The search box and sort select above a list page's table. */
export function ListControls({ view, onChange, sorts, label, placeholder }: {
  view: ListView;
  onChange: (next: ListView) => void;
  sorts: readonly { value: string; label: string }[];
  /** What is listed, for the search box's label: "builds". */
  label: string;
  /** What the search looks at, as a hint in the empty box. */
  placeholder: string;
}) {
  return (
    <div className="filters" role="search" aria-label={`Find ${label}`}>
      <label className="field field-inline">
        <span>Search {label}</span>
        <input type="search" value={view.q} placeholder={placeholder} onChange={(e) => onChange({ ...view, q: e.target.value })} />
      </label>
      <label className="field field-inline">
        <span>Sort by</span>
        <select value={view.sort} onChange={(e) => onChange({ ...view, sort: e.target.value })}>
          {sorts.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

export const byText = <T,>(f: (t: T) => string) => (a: T, b: T) => f(a).localeCompare(f(b));
export const byTimeDesc = <T,>(f: (t: T) => Date | string | null | undefined) => (a: T, b: T) => new Date(f(b) ?? 0).getTime() - new Date(f(a) ?? 0).getTime();
export const byNumberDesc = <T,>(f: (t: T) => number | null | undefined) => (a: T, b: T) => (f(b) ?? -Infinity) - (f(a) ?? -Infinity);
