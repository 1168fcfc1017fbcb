'use client';

import './search.css';
import { useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useTRPC } from './trpc';
import type { RouterOutputs } from './types';
import { ErrorMessage, Loading } from './ui';

type SearchHit = RouterOutputs['search']['query'][number];

const kindLabels: Record<SearchHit['kind'], string> = {
  project: 'Project',
  notebook: 'Notebook',
  cell: 'Cell',
  dataset: 'Dataset',
  model: 'Model',
  endpoint: 'Endpoint',
  scenario: 'Scenario',
};

export function searchHitHref(h: SearchHit): string {
  const p = `/projects/${h.projectId}`;
  const name = encodeURIComponent(h.name);
  switch (h.kind) {
    case 'project':
      return p;
    case 'notebook':
      return `${p}/notebooks/${h.notebookId}`;
    case 'cell':
      return `${p}/notebooks/${h.notebookId}?cell=${encodeURIComponent(h.cellId ?? '')}`;
    case 'dataset':
      return h.environment === 'production' ? `${p}/production/datasets/${name}` : `${p}/datasets/${name}`;
    case 'model':
      return `${p}/models/${name}`;
    case 'endpoint':
      return `${p}/endpoints/${name}`;
    case 'scenario':
      return `${p}/production#scenarios`;
  }
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

/** The top bar's search: a button, or Ctrl/Cmd+K anywhere, opens one box across everything the user may see. */
export function SearchButton() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setOpen(true);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <>
      <button type="button" className="search-button" onClick={() => setOpen(true)} aria-keyshortcuts="Control+K Meta+K">
        <span>Search…</span>
        <kbd>Ctrl K</kbd>
      </button>
      {open && <SearchDialog onClose={() => setOpen(false)} />}
    </>
  );
}

function SearchDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const ref = useRef<HTMLDialogElement>(null);
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const term = useDebounced(q.trim(), 150);
  const results = useQuery({
    ...trpc.search.query.queryOptions({ q: term, limit: 20 }),
    enabled: term.length > 0,
    placeholderData: (prev) => prev,
  });
  const hits = term ? (results.data ?? []) : [];

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  useEffect(() => setActive(0), [term]);

  const go = (h: SearchHit | undefined) => {
    if (!h) return;
    onClose();
    router.push(searchHitHref(h));
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive((i) => Math.min(i + 1, hits.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((i) => Math.max(i - 1, 0));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      go(hits[active]);
    }
  };

  return (
    <dialog ref={ref} className="dialog search-dialog" aria-label="Search" onCancel={onClose} onClick={(e) => e.target === ref.current && onClose()}>
      <input
        className="search-input"
        type="search"
        autoFocus
        value={q}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder="Search projects, notebooks, cells, datasets, models, endpoints, scenarios"
        aria-label="Search everything you can see"
        aria-controls="search-results"
        maxLength={100}
      />
      {!term ? (
        <p className="muted search-hint">Type a name, or words from a cell. ↑ ↓ to choose, Enter to open, Esc to close.</p>
      ) : results.isError ? (
        <ErrorMessage error={results.error} />
      ) : results.isPending ? (
        <Loading label="Searching…" />
      ) : hits.length === 0 ? (
        <p className="muted search-hint">Nothing you can see matches “{term}”.</p>
      ) : (
        <ul className="search-results" id="search-results" role="listbox" aria-label="Results">
          {hits.map((h, i) => (
            <li key={`${h.kind}-${h.projectId}-${h.name}-${h.cellId ?? ''}-${h.environment ?? ''}`} role="option" aria-selected={i === active}>
              <a
                href={searchHitHref(h)}
                className={i === active ? 'search-hit search-hit-active' : 'search-hit'}
                onMouseEnter={() => setActive(i)}
                onClick={(e) => {
                  e.preventDefault();
                  go(h);
                }}
              >
                <span className={`badge search-kind search-kind-${h.kind}`}>{kindLabels[h.kind]}</span>
                <span className="search-hit-text">
                  <span className="search-hit-name">
                    {h.name}
                    {h.environment === 'production' && <span className="muted"> (production)</span>}
                  </span>
                  <span className="search-hit-where muted">
                    {h.teamName} / {h.projectName}
                    {h.snippet ? ` — ${h.snippet}` : ''}
                  </span>
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </dialog>
  );
}
