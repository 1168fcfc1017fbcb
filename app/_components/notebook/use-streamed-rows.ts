'use client';

import { useCallback, useEffect, useRef, useState } from 'react';

/** The most rows the grid streams (the server's cap): more is Download CSV. */
export const MAX_STREAMED_ROWS = 100_000;

export type StreamedRows = {
  /** Which output these rows belong to: a new output drops them. */
  outputId: string;
  rows: unknown[][];
  done: boolean;
  error: string | null;
  /** ms from the click to the first rows in hand, and to the last (what the browser test prints). */
  firstRowsMs: number | null;
  allRowsMs: number | null;
};

/** How often the grid is handed the rows so far while they stream in. */
const PUBLISH_EVERY_MS = 150;

/**
 * Streams a cell's full result (up to 100,000 rows) from the NDJSON row route, handing the grid the
 * rows so far every 150 ms: the first rows paint while the rest arrive, and no giant JSON is parsed
 * at once. Aborted when the output changes or the component goes away.
 */
export function useStreamedRows(url: string, outputId: string) {
  const [state, setState] = useState<StreamedRows | null>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);
  useEffect(() => {
    abort.current?.abort();
    abort.current = null;
  }, [outputId]);

  const load = useCallback(() => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    const started = performance.now();
    const rows: unknown[][] = [];
    let firstRowsMs: number | null = null;
    let lastPublish = 0;
    const publish = (done: boolean, error: string | null) => {
      if (controller.signal.aborted) return;
      lastPublish = performance.now();
      setState({ outputId, rows: rows.slice(), done, error, firstRowsMs, allRowsMs: done && !error ? Math.round(performance.now() - started) : null });
    };
    setState({ outputId, rows: [], done: false, error: null, firstRowsMs: null, allRowsMs: null });
    void (async () => {
      const params = new URLSearchParams({ limit: String(MAX_STREAMED_ROWS), outputId });
      const res = await fetch(`${url}?${params.toString()}`, { signal: controller.signal, credentials: 'same-origin' });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        return publish(true, body?.error?.message ?? `loading the rows failed (${res.status})`);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let rest = '';
      let ended: { error: string | null } | null = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const lines = (rest + value).split('\n');
        rest = lines.pop() ?? '';
        for (const text of lines) {
          if (!text) continue;
          const line = JSON.parse(text) as unknown;
          if (Array.isArray(line)) rows.push(line as unknown[]);
          else if (line && typeof line === 'object' && 'error' in line) ended = { error: String((line as { error: unknown }).error) };
          else if (line && typeof line === 'object' && 'done' in line) ended = { error: null };
        }
        if (firstRowsMs === null && rows.length > 0) {
          firstRowsMs = Math.round(performance.now() - started);
          publish(false, null);
        } else if (performance.now() - lastPublish > PUBLISH_EVERY_MS) publish(false, null);
      }
      publish(true, ended ? ended.error : 'the connection closed before every row arrived');
    })().catch((err: unknown) => {
      if (!controller.signal.aborted) publish(true, err instanceof Error ? err.message : String(err));
    });
  }, [url, outputId]);

  return { streamed: state?.outputId === outputId ? state : null, load };
}
